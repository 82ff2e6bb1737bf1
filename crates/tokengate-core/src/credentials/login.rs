//! The forms of a login: one a directory may store and look up, and the key the sign-in
//! throttle counts attempts under.

use std::sync::OnceLock;

use icu_collator::options::{CollatorOptions, Strength};
use icu_collator::{Collator, CollatorBorrowed, CollatorPreferences};
use unicode_normalization::UnicodeNormalization as _;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory as _};

/// A login as every directory may take it: trimmed; without invisible characters (Unicode's
/// default-ignorable code points and every format character: soft hyphen, zero-width joiners,
/// variation selectors, Arabic number signs...); in NFKC (fullwidth `ａ` is `a`); case-folded,
/// with the dotted capital `İ` as `i` (what `lower()` makes of it under a `citext` column);
/// katakana as hiragana and small kana as full-size ones (what an ICU collation at level 2
/// leaves out).
///
/// A directory that wants logins compared case-insensitively, without a collation of its own,
/// can store and look up this form. (The sign-in throttle counts attempts under a key that is
/// coarser still: the root collation's sort key at level 2 of the login, so that no spelling a
/// `citext` column or an ICU `ks-level2` collation takes for the same login — `JOHN.doe@…`,
/// `jo\u{AD}hn.doe@…`, `user١@…` for `user1@…` — gets attempts of its own. An
/// accent-insensitive, level 1, collation is looser than both.)
///
/// ```
/// use tokengate::credentials::normalised_login;
///
/// assert_eq!(normalised_login(" John.Doe@Email.org "), "john.doe@email.org");
/// // "é" composed and decomposed, and the German sharp s, fold to one form.
/// assert_eq!(normalised_login("Jose\u{301}"), normalised_login("JOSÉ"));
/// assert_eq!(normalised_login("STRASSE"), normalised_login("straße"));
/// // Invisible characters and fullwidth forms are the plain login.
/// assert_eq!(normalised_login("jo\u{AD}hn\u{200D}.doe"), "john.doe");
/// assert_eq!(normalised_login("ＪＯＨＮ"), "john");
/// // Katakana, half-width or small, are the hiragana.
/// assert_eq!(normalised_login("ｶﾀｶﾅ"), normalised_login("かたかな"));
/// ```
pub fn normalised_login(login: &str) -> String {
    if login.is_ascii() && !login.chars().any(invisible) {
        return login.trim().to_ascii_lowercase();
    }
    let visible: String = login
        .chars()
        .filter(|c| !invisible(*c))
        .map(|c| if c == '\u{130}' { 'i' } else { c })
        .nfkc()
        .collect();
    let folded = caseless::default_case_fold_str(&visible);
    // Kana are mapped decomposed, so a voiced one (`ヷ`, `ガ`) is its base and the voicing
    // mark, as the same hiragana is; composed again afterwards.
    let mapped: String = without_dot_on_i(folded.nfkd()).map(kana).collect();
    mapped.nfkc().collect::<String>().trim().to_owned()
}

/// The key the sign-in throttle counts a login's attempts under: the root collation's sort
/// key, at the second level (accents count; case, width, kana type and the like do not), of
/// the login without invisible characters and trimmed. Logins an ICU collation at level 2
/// takes for one (`ks-level2`: digits of every script, letters in circles or squares, the
/// hundreds of marks and signs it ignores, repeated or not) share one key, as do those
/// `lower()` merges (a `citext` column), and a login with spaces around it.
pub(crate) fn throttle_key(login: &str) -> Vec<u8> {
    static ROOT: OnceLock<Option<CollatorBorrowed<'static>>> = OnceLock::new();
    let form = key_form(login);
    let collator = ROOT.get_or_init(|| {
        let mut options = CollatorOptions::default();
        options.strength = Some(Strength::Secondary);
        Collator::try_new(CollatorPreferences::default(), options).ok()
    });
    let Some(collator) = collator else {
        return normalised_login(&form).into_bytes();
    };
    let mut key = Vec::with_capacity(form.len() * 3);
    let Ok(()) = collator.write_sort_key_to(&form, &mut key);
    key
}

/// What [`throttle_key`] collates: the login without invisible characters, trimmed,
/// decomposed, and in the stream-safe form (a combining grapheme joiner after 30 marks in a
/// row, UAX #15), so that a login of nothing but marks costs the collator no more than text
/// does (reordering a run of marks grows with its square).
fn key_form(login: &str) -> String {
    let visible: String = login.chars().filter(|c| !invisible(*c)).collect();
    // `İ` is `i` to `lower()` where the database's own collation lowers it (`I` too), `i`
    // with its dot to ICU: decomposed, the dot on an `i` goes, and all three are one.
    without_dot_on_i(visible.trim().nfd())
        .stream_safe()
        .collect()
}

/// `chars` (decomposed) without a combining dot above on an `i` or an `I` (what decomposing or
/// folding `İ` leaves), whatever marks below come between.
fn without_dot_on_i(chars: impl Iterator<Item = char>) -> impl Iterator<Item = char> {
    let mut on_i = false;
    chars.filter(move |c| {
        match unicode_normalization::char::canonical_combining_class(*c) {
            0 => on_i = matches!(*c, 'i' | 'I'),
            _ if *c == '\u{307}' && on_i => return false,
            // Another mark above comes first: the dot is not the `i`'s.
            class if class >= 230 => on_i = false,
            _ => {}
        }
        true
    })
}

/// Whether `c` is skipped by collations and renderers: a default-ignorable code point
/// (`Default_Ignorable_Code_Point`, DerivedCoreProperties.txt), a format character (general
/// category `Cf`) or a control character that is not white space (ignorable in ICU).
fn invisible(c: char) -> bool {
    c.general_category() == GeneralCategory::Format
        || matches!(
            u32::from(c),
            // Control characters, but for the white space ones (tab to carriage return).
            0x0000..=0x0008
                | 0x000E..=0x001F
                | 0x007F..=0x009F
                | 0x00AD
                | 0x034F
                | 0x061C
                | 0x115F..=0x1160
                | 0x17B4..=0x17B5
                | 0x180B..=0x180F
                | 0x200B..=0x200F
                | 0x202A..=0x202E
                | 0x2060..=0x206F
                | 0x3164
                | 0xFE00..=0xFE0F
                | 0xFEFF
                | 0xFFA0
                | 0xFFF0..=0xFFF8
                | 0x1BCA0..=0x1BCA3
                | 0x1D173..=0x1D17A
                | 0xE0000..=0xE0FFF
        )
}

/// `c` with katakana as hiragana and small kana as full-size ones (after NFKD, so half-width
/// katakana are already full-width and voiced ones are their base).
fn kana(c: char) -> char {
    let code = u32::from(c);
    let code = match code {
        // The Small Kana Extension: small こ, ゐ, ゑ, を (hiragana and katakana) and ン.
        0x1B132 | 0x1B155 => 0x3053,
        0x1B150 | 0x1B164 => 0x3090,
        0x1B151 | 0x1B165 => 0x3091,
        0x1B152 | 0x1B166 => 0x3092,
        0x1B167 => 0x3093,
        // Katakana with a hiragana counterpart, and the iteration marks.
        0x30A1..=0x30F6 | 0x30FD..=0x30FE => code - 0x60,
        // Small katakana of the phonetic extensions: ㇰ ㇱ ㇲ ㇳ ㇴ ㇵ ㇶ ㇷ ㇸ ㇹ ㇺ ㇻ ㇼ ㇽ ㇾ ㇿ.
        0x31F0..=0x31FF => [
            0x304F, 0x3057, 0x3059, 0x3068, 0x306C, 0x306F, 0x3072, 0x3075, 0x3078, 0x307B, 0x3080,
            0x3089, 0x308A, 0x308B, 0x308C, 0x308D,
        ][usize::try_from(code - 0x31F0).unwrap_or(0)],
        _ => code,
    };
    let code = match code {
        // Small hiragana: ぁ ぃ ぅ ぇ ぉ っ ゃ ゅ ょ ゎ, each right before its full-size one.
        0x3041 | 0x3043 | 0x3045 | 0x3047 | 0x3049 | 0x3063 | 0x3083 | 0x3085 | 0x3087 | 0x308E => {
            code + 1
        }
        // ゕ ゖ: small か and け.
        0x3095 => 0x304B,
        0x3096 => 0x3051,
        _ => code,
    };
    char::from_u32(code).unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::{normalised_login, throttle_key};

    /// Found in review: spellings a `citext` column or an ICU level-2 collation takes for one
    /// login each had attempts of their own.
    #[test]
    fn what_case_insensitive_collations_merge_shares_one_form() {
        for (one, other) in [
            // Format characters that are not default-ignorable.
            ("jo\u{600}hn", "john"),
            ("jo\u{6DD}hn", "john"),
            ("jo\u{890}hn", "john"),
            ("jo\u{110BD}hn", "john"),
            ("jo\u{13430}hn", "john"),
            ("jo\u{FFF9}hn", "john"),
            // `lower('İ')` is `i`; ICU takes `İ` for `i` with a dot above.
            ("\u{130}lker", "ilker"),
            ("i\u{307}lker", "ilker"),
            // Katakana and hiragana, small and full-size kana.
            ("カタカナ", "かたかな"),
            ("ｶﾀｶﾅ", "かたかな"),
            ("ガッコウ", "がつこう"),
            ("ぁぃぅぇぉっゃゅょゎゕゖ", "あいうえおつやゆよわかけ"),
            ("ㇰㇱㇲ", "くしす"),
            ("ヽヾ", "ゝゞ"),
            // Found in review: control characters ICU ignores, invisible ones around the
            // login, voiced kana without a precomposed hiragana, the Small Kana Extension, and
            // a mark below between the `i` and its dot.
            ("jo\u{1}hn", "john"),
            ("jo\u{7F}hn", "john"),
            ("jo\u{85}hn", "john"),
            ("jo\u{9F}hn\u{1F}", "john"),
            ("\u{200B} john \u{FEFF}", "john"),
            ("ヷヸヹヺ", "わ\u{3099}ゐ\u{3099}ゑ\u{3099}を\u{3099}"),
            ("\u{1B132}\u{1B155}", "ここ"),
            ("\u{1B150}\u{1B151}\u{1B152}", "ゐゑを"),
            ("\u{1B164}\u{1B165}\u{1B166}\u{1B167}", "ゐゑをん"),
            ("i\u{328}\u{307}lker", "i\u{328}lker"),
            ("i\u{307}\u{328}lker", "i\u{328}lker"),
            ("\u{130}\u{328}lker", "i\u{328}lker"),
        ] {
            assert_eq!(
                normalised_login(one),
                normalised_login(other),
                "{one} / {other}"
            );
            // The throttle's key merges them too, but for the iteration marks, which ICU's
            // root collation keeps apart (and `lower()` too).
            if one != "ヽヾ" {
                assert_eq!(throttle_key(one), throttle_key(other), "{one} / {other}");
            }
        }
        // What no collation at level 2 merges stays apart.
        for (one, other) in [
            ("jose", "josé"),
            ("かな", "がな"),
            ("ilker", "ılker"),
            ("jo\thn", "john"),
            ("わ", "ヷ"),
        ] {
            assert_ne!(
                normalised_login(one),
                normalised_login(other),
                "{one} / {other}"
            );
            assert_ne!(throttle_key(one), throttle_key(other), "{one} / {other}");
        }
        // The spellings the sign-in throttle shares attempts across, ASCII or not.
        for (one, other) in [
            (" John.Doe@Email.org ", "john.doe@email.org"),
            ("jo\u{AD}hn\u{200D}.doe", "john.doe"),
            ("ＪＯＨＮ", "john"),
            ("user\u{661}@x.org", "user1@x.org"),
            ("jo\u{640}\u{640}\u{640}hn", "john"),
            ("j\u{1F15E}hn", "john"),
        ] {
            assert_eq!(throttle_key(one), throttle_key(other), "{one} / {other}");
        }
    }

    /// Found in review: a 1024-byte login of nothing but combining marks (`U+0F73` over and
    /// over) cost the collator some 500 times what text of that length does, on every attempt,
    /// refused ones included: reordering a run of marks grows with its square. What is
    /// collated is stream-safe: no run of more than 30 marks.
    #[test]
    fn what_is_collated_has_no_long_run_of_marks() {
        for marks in ["\u{F73}", "\u{F71}", "\u{301}\u{F71}", "\u{F81}"] {
            let login = format!("a{}", marks.repeat(1024 / marks.len()));
            let mut run = 0;
            let mut longest = 0;
            for c in super::key_form(&login).chars() {
                if unicode_normalization::char::canonical_combining_class(c) == 0 {
                    run = 0;
                } else {
                    run += 1;
                    longest = longest.max(run);
                }
            }
            assert!(longest <= 30, "{marks:?}: a run of {longest}");
        }
    }

    /// Found in review: in a directory that compares logins under an ICU collation at level 2
    /// (`und-u-ks-level2`), hundreds of characters it ignores (Arabic tatweel, Hebrew accents,
    /// repeated at will) and hundreds of groups it takes for one (digits of every script,
    /// letters in circles and squares) each had attempts of their own. Every group of code
    /// points PostgreSQL's ICU takes for one, in `a?b`, and every group `lower()` merges, now
    /// shares one key; the ignored ones share that of `ab`.
    #[cfg(feature = "postgres")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_an_icu_directory_takes_for_one_login_shares_one_key() {
        let url = std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::raw_sql(
            "CREATE COLLATION IF NOT EXISTS tokengate_test_level2 \
             (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
        )
        .execute(&pool)
        .await
        .unwrap();
        let every = "generate_series(1, 1114111) AS cp WHERE cp NOT BETWEEN 55296 AND 57343";
        let mut split = Vec::new();
        for (name, merged, ignored) in [
            (
                "icu level 2",
                "('a' || chr(cp) || 'b') COLLATE tokengate_test_level2",
                "bool_or(('a' || chr(cp) || 'b') = 'ab' COLLATE tokengate_test_level2)",
            ),
            ("lower()", "lower('a' || chr(cp) || 'b')", "false"),
            (
                "lower() under icu",
                "lower(('a' || chr(cp) || 'b') COLLATE \"und-x-icu\")",
                "false",
            ),
        ] {
            let groups: Vec<(Vec<i32>, bool)> = sqlx::query_as(&format!(
                "SELECT array_agg(cp ORDER BY cp), {ignored} FROM {every} \
                 GROUP BY {merged} HAVING count(*) > 1"
            ))
            .fetch_all(&pool)
            .await
            .unwrap();
            assert!(groups.len() > 100, "{name}: {} groups", groups.len());
            for (group, is_ignored) in groups {
                let chars: Vec<char> = group
                    .iter()
                    .filter_map(|cp| char::from_u32(u32::try_from(*cp).ok()?))
                    .collect();
                let first = throttle_key(&format!("a{}b", chars[0]));
                let apart: Vec<String> = chars
                    .iter()
                    .filter(|c| throttle_key(&format!("a{c}b")) != first)
                    .map(|c| format!("U+{:04X}", u32::from(*c)))
                    .collect();
                if !apart.is_empty() || (is_ignored && first != throttle_key("ab")) {
                    split.push(format!(
                        "{name}: U+{:04X} apart from {apart:?} (ignored: {is_ignored})",
                        u32::from(chars[0])
                    ));
                }
            }
        }
        assert!(
            split.is_empty(),
            "{} split:\n{}",
            split.len(),
            split.join("\n")
        );
    }
}
