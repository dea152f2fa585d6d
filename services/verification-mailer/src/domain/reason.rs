//! Why a send failed, as it may be published, stored and logged.
//!
//! The reason comes from the SMTP server's reply, and servers often echo the recipient
//! (`550 5.1.1 <siti@example.co.id>: user unknown`). The reason travels in
//! `verification.failed` (the stream keeps it forever and cannot shred it), into the dashboard
//! and into the logs, so every e-mail address in it is replaced with `<alamat>` where the reply
//! enters the mailer.

/// What an address in a reason becomes.
pub const ADDRESS: &str = "<alamat>";

/// `text` with every e-mail address (and the angle brackets around one) replaced by
/// [`ADDRESS`]. An address here is a run of characters that may form one, an `@`, and a domain
/// of letters, digits, dots and hyphens; a domain's trailing dot ends the sentence, not the
/// domain.
pub fn without_addresses(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    // Where the text after the last replacement begins: an address does not reach back past it.
    let mut floor = 0;
    let mut i = 0;
    while i < chars.len() {
        match address_at(&chars, floor, i) {
            Some((start, end)) => {
                // What precedes the `@` since `start` went out as it came: take it back.
                out.truncate(out.len() - (i - start));
                out.extend(ADDRESS.chars());
                i = end;
                floor = end;
            }
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out.into_iter().collect()
}

fn local_char(c: char) -> bool {
    !c.is_whitespace() && !"<>()[]\\,;:\"@".contains(c)
}

fn domain_char(c: char) -> bool {
    c.is_alphanumeric() || c == '.' || c == '-'
}

/// When `chars[at]` is the `@` of an address: where the address starts (its local part, or the
/// `<` before it; not before `floor`) and where it ends (after its domain, or the `>` after it).
fn address_at(chars: &[char], floor: usize, at: usize) -> Option<(usize, usize)> {
    if chars[at] != '@' {
        return None;
    }
    let mut start = at;
    if start > floor && chars[start - 1] == '"' {
        // A quoted local part ("siti rahma"@example.com): back to its opening quote.
        if let Some(open) = (floor..start - 1).rev().find(|&j| chars[j] == '"') {
            start = open;
        }
    } else {
        while start > floor && local_char(chars[start - 1]) {
            start -= 1;
        }
    }
    let mut end = at + 1;
    if chars.get(end) == Some(&'[') {
        // A domain literal (siti@[192.0.2.1]): through its closing bracket.
        if let Some(close) = (end..chars.len()).find(|&j| chars[j] == ']') {
            end = close + 1;
        }
    }
    while end < chars.len() && domain_char(chars[end]) {
        end += 1;
    }
    while end > at + 1 && chars[end - 1] == '.' {
        end -= 1;
    }
    if start == at || end == at + 1 {
        return None;
    }
    if start > floor && chars[start - 1] == '<' && chars.get(end) == Some(&'>') {
        return Some((start - 1, end + 1));
    }
    Some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_smtp_replies_are_replaced() {
        for (reply, want) in [
            (
                "permanent error (550): 5.1.1 <siti@example.co.id>: Recipient address rejected: User unknown",
                "permanent error (550): 5.1.1 <alamat>: Recipient address rejected: User unknown",
            ),
            (
                "550 5.1.1 The email account that you tried to reach does not exist: siti.rahma+gadai@mail.example.com.",
                "550 5.1.1 The email account that you tried to reach does not exist: <alamat>.",
            ),
            (
                "452 4.2.2 mailbox full: budi@example.com, try again",
                "452 4.2.2 mailbox full: <alamat>, try again",
            ),
            (
                "553 sender <no-reply@gadai.example> and recipient <ÄNI@bücher.example> refused",
                "553 sender <alamat> and recipient <alamat> refused",
            ),
            ("RCPT TO:<a@b>", "RCPT TO:<alamat>"),
            (
                "550 no mailbox siti@[192.0.2.1] here",
                "550 no mailbox <alamat> here",
            ),
            (
                "550 <\"siti rahma\"@example.com>: no such user",
                "550 <alamat>: no such user",
            ),
        ] {
            let clean = without_addresses(reply);
            assert_eq!(clean, want);
            assert!(!clean.contains('@'), "{clean}");
        }
    }

    #[test]
    fn an_address_does_not_reach_into_the_one_before() {
        assert_eq!(without_addresses("a@b.c@d.e"), "<alamat>@d.e");
    }

    #[test]
    fn text_without_addresses_is_kept() {
        for text in [
            "",
            "connection refused",
            "421 4.7.0 try again later @ 10:00",
            "user@ or @domain alone",
            "timed out after 20 s (after 5 attempts)",
        ] {
            assert_eq!(without_addresses(text), text);
        }
    }
}
