//! What start-up errors and `Debug` show of a store URL: everything but its passwords.

/// `url` with its password replaced by `REDACTED`: whatever stands between the first `:` after
/// the scheme and the last `@` (`postgres://app:REDACTED@db/app`, also when the password holds
/// `/`, `#` or `,`; `redis+cluster://:REDACTED@a:1,b:2`), and the value of a `password` query
/// parameter (`?password=REDACTED`).
pub(crate) fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let mut out = format!("{scheme}://");
    let rest = match (password_span(rest), rest.rfind('@')) {
        (Some((start, end)), Some(_)) => {
            out.push_str(&rest[..start]);
            out.push_str("REDACTED");
            &rest[end..]
        }
        _ => rest,
    };
    match rest.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if is_password_parameter(name) => format!("{name}=REDACTED"),
                    _ => pair.to_owned(),
                })
                .collect();
            out.push_str(path);
            out.push('?');
            out.push_str(&query.join("&"));
        }
        None => out.push_str(rest),
    }
    out
}

/// Where the password of `rest` (a URL after `scheme://`) stands, as a byte range.
fn password_span(rest: &str) -> Option<(usize, usize)> {
    let at = rest.rfind('@')?;
    let colon = rest[..at].find(':')?;
    Some((colon + 1, at))
}

fn is_password_parameter(name: &str) -> bool {
    name.eq_ignore_ascii_case("password") || name.eq_ignore_ascii_case("pass")
}

/// The passwords `url` carries, as written and percent-decoded.
fn passwords(url: &str) -> Vec<String> {
    let Some((_, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    if let Some((start, end)) = password_span(rest) {
        found.push(rest[start..end].to_owned());
    }
    if let Some((_, query)) = rest.split_once('?') {
        for pair in query.split('&') {
            if let Some((name, value)) = pair.split_once('=') {
                if is_password_parameter(name) {
                    found.push(value.to_owned());
                }
            }
        }
    }
    let decoded: Vec<String> = found
        .iter()
        .filter_map(|password| {
            let bytes: Vec<u8> = form_urlencoded::parse(format!("p={password}").as_bytes())
                .next()
                .map(|(_, value)| value.into_owned().into_bytes())?;
            String::from_utf8(bytes).ok()
        })
        .collect();
    found.extend(decoded);
    found.retain(|password| !password.is_empty());
    found
}

/// `text` (an error a library wrote about `url`) with every password of `url` replaced by
/// `REDACTED`, wherever the library echoed it, as written or decoded.
pub(crate) fn redacted_in(text: &str, url: &str) -> String {
    let text = text.replace(url, &redacted_url(url));
    passwords(url).iter().fold(text, |text, password| {
        text.replace(password.as_str(), "REDACTED")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_and_the_rest_kept() {
        assert_eq!(
            redacted_url("postgres://app:S3cretPw@db:notaport/x"),
            "postgres://app:REDACTED@db:notaport/x"
        );
        assert_eq!(
            redacted_url("redis+cluster://:pw@a:1,b:2/0"),
            "redis+cluster://:REDACTED@a:1,b:2/0"
        );
        assert_eq!(redacted_url("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(redacted_url("memory"), "memory");
        assert_eq!(
            redacted_url("postgres://app:SEC/RET#x@db/x"),
            "postgres://app:REDACTED@db/x"
        );
        assert_eq!(
            redacted_url("redis://:ab,SECRET@db/0"),
            "redis://:REDACTED@db/0"
        );
        assert_eq!(
            redacted_url("postgres://app@db/x?sslmode=require&password=SECRET"),
            "postgres://app@db/x?sslmode=require&password=REDACTED"
        );
        assert_eq!(
            redacted_in(
                "auth failed for p@ss w0rd",
                "postgres://app:p%40ss%20w0rd@db/x"
            ),
            "auth failed for REDACTED"
        );
        assert_eq!(
            redacted_in(
                "bad `postgres://app:S3cretPw@db`, S3cretPw",
                "postgres://app:S3cretPw@db"
            ),
            "bad `postgres://app:REDACTED@db`, REDACTED"
        );
    }
}
