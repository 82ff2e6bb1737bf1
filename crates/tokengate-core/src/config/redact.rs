//! What start-up errors and `Debug` show of a store URL: everything but its passwords.

/// `url` with the password of each `user:password@host` replaced by `REDACTED`
/// (`postgres://app:REDACTED@db/app`, `redis+cluster://:REDACTED@a:1,b:2`).
pub(crate) fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let hosts: Vec<String> = authority
        .split(',')
        .map(|host| match host.rsplit_once('@') {
            Some((userinfo, at)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:REDACTED@{at}"),
                None => host.to_owned(),
            },
            None => host.to_owned(),
        })
        .collect();
    format!("{scheme}://{}{tail}", hosts.join(","))
}

/// `text` (an error a library wrote about `url`) with every password of `url` replaced by
/// `REDACTED`, wherever the library echoed it.
pub(crate) fn redacted_in(text: &str, url: &str) -> String {
    let mut text = text.replace(url, &redacted_url(url));
    let Some((_, rest)) = url.split_once("://") else {
        return text;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    for host in rest[..end].split(',') {
        if let Some((userinfo, _)) = host.rsplit_once('@') {
            if let Some((_, password)) = userinfo.split_once(':') {
                if !password.is_empty() {
                    text = text.replace(password, "REDACTED");
                }
            }
        }
    }
    text
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
            redacted_in(
                "bad `postgres://app:S3cretPw@db`, S3cretPw",
                "postgres://app:S3cretPw@db"
            ),
            "bad `postgres://app:REDACTED@db`, REDACTED"
        );
    }
}
