//! Text in the PDF's standard fonts: Helvetica and Helvetica-Bold with WinAnsiEncoding (not
//! embedded: every reader has them). Text is encoded to WinAnsi bytes (Latin-1 and a few
//! typographic characters), measured with the fonts' metrics, and cut to fit a width.

use std::borrow::Cow;

/// One of the two fonts the export writes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    Regular,
    Bold,
}

/// Where the ellipsis "…" is in WinAnsiEncoding.
const ELLIPSIS: u8 = 0x85;

/// What stands for a character WinAnsiEncoding has no code for.
const UNKNOWN: u8 = b'?';

impl Font {
    /// The standard font's PostScript name.
    pub fn base_name(self) -> &'static [u8] {
        match self {
            Font::Regular => b"Helvetica",
            Font::Bold => b"Helvetica-Bold",
        }
    }

    /// The advance widths of codes 32 to 255, in thousandths of the font size.
    fn widths(self) -> &'static [u16; 224] {
        match self {
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        }
    }

    /// How wide `text` (WinAnsi bytes) is at `size` points.
    pub fn width(self, text: &[u8], size: f32) -> f32 {
        let widths = self.widths();
        let units: u32 = text
            .iter()
            .map(|&b| {
                b.checked_sub(32)
                    .map_or(0, |i| u32::from(widths[i as usize]))
            })
            .sum();
        units as f32 * size / 1000.0
    }

    /// `text` as it fits in `max` points at `size`: whole, or cut and ended with "…" (nothing
    /// when not even that fits).
    pub fn fit<'a>(self, text: &'a [u8], size: f32, max: f32) -> Cow<'a, [u8]> {
        if self.width(text, size) <= max {
            return Cow::Borrowed(text);
        }
        let room = max - self.width(&[ELLIPSIS], size);
        if room < 0.0 {
            return Cow::Borrowed(&[]);
        }
        let mut end = text.len();
        while end > 0 && self.width(&text[..end], size) > room {
            end -= 1;
        }
        let mut cut = text[..end].to_vec();
        cut.push(ELLIPSIS);
        Cow::Owned(cut)
    }
}

/// `text` in WinAnsiEncoding: control characters become spaces, combining accents are dropped
/// (a decomposed "é" shows as "e"), and what the encoding lacks becomes "?". The bytes still
/// need a PDF string's escaping (pdf-writer's `Str` does it).
pub fn encode(text: &str) -> Vec<u8> {
    text.chars()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .map(winansi)
        .collect()
}

/// One character's WinAnsi code.
fn winansi(c: char) -> u8 {
    match c {
        ' '..='~' | '\u{a0}'..='\u{ff}' => c as u8,
        c if c.is_control() || c.is_whitespace() => b' ',
        c => WINANSI_EXTRA
            .iter()
            .find(|(extra, _)| *extra == c)
            .map_or(UNKNOWN, |&(_, code)| code),
    }
}

/// The characters WinAnsiEncoding puts at 128 to 159 (where Latin-1 has control codes).
const WINANSI_EXTRA: [(char, u8); 27] = [
    ('€', 0x80),
    ('‚', 0x82),
    ('ƒ', 0x83),
    ('„', 0x84),
    ('…', 0x85),
    ('†', 0x86),
    ('‡', 0x87),
    ('ˆ', 0x88),
    ('‰', 0x89),
    ('Š', 0x8a),
    ('‹', 0x8b),
    ('Œ', 0x8c),
    ('Ž', 0x8e),
    ('‘', 0x91),
    ('’', 0x92),
    ('“', 0x93),
    ('”', 0x94),
    ('•', 0x95),
    ('–', 0x96),
    ('—', 0x97),
    ('˜', 0x98),
    ('™', 0x99),
    ('š', 0x9a),
    ('›', 0x9b),
    ('œ', 0x9c),
    ('ž', 0x9e),
    ('Ÿ', 0x9f),
];

/// Helvetica's advance widths for WinAnsi codes 32 to 255 (Adobe's metrics, as groff's `devps`
/// font files carry them); 0 where the encoding has no character ([`encode`] never produces
/// those codes).
#[rustfmt::skip]
const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 0,
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,
    0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667,
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    400, 584, 333, 333, 333, 578, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];

/// Helvetica-Bold's advance widths, as [`HELVETICA`].
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 0,
    556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,
    0, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667,
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278,
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_1_and_the_typographic_extras_are_encoded_and_the_rest_is_a_question_mark() {
        assert_eq!(encode("Budi (Jr) \\ 5"), b"Budi (Jr) \\ 5");
        assert_eq!(encode("José Müller"), b"Jos\xe9 M\xfcller");
        assert_eq!(encode("“Rp” € …"), b"\x93Rp\x94 \x80 \x85");
        assert_eq!(encode("Dewi 王 Ω 😀"), b"Dewi ? ? ?");
        assert_eq!(
            encode("Jose\u{301}"),
            b"Jose",
            "a combining accent is dropped"
        );
        assert_eq!(encode("a\tb\nc\u{7f}"), b"a b c ");
    }

    #[test]
    fn widths_are_helvetica_s() {
        assert_eq!(Font::Regular.width(b"Halaman", 1000.0), 4001.0);
        assert_eq!(Font::Bold.width(b"Halaman", 1000.0), 4168.0);
        assert_eq!(Font::Regular.width(b"\xe9", 10.0), 5.56);
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis_and_never_overflows() {
        let short = b"Budi";
        assert_eq!(
            Font::Regular.fit(short, 7.0, 50.0),
            Cow::Borrowed(&short[..])
        );
        let long = encode(&"Nama yang sangat panjang sekali ".repeat(4));
        assert!(Font::Regular.fit(&long, 7.0, 5.0).is_empty(), "no room");
        for max in [7.0, 30.0, 60.0, 90.0] {
            let fitted = Font::Regular.fit(&long, 7.0, max);
            assert!(Font::Regular.width(&fitted, 7.0) <= max, "{max}");
            assert_eq!(fitted.last(), Some(&ELLIPSIS));
            assert!(long.starts_with(&fitted[..fitted.len() - 1]));
        }
    }
}
