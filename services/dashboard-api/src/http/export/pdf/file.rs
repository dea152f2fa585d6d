//! A PDF file written object by object into an unnamed temporary file: only each object's
//! offset stays in memory, for the cross-reference table written at the end.

use std::{
    fs::File,
    io::{self, BufWriter, Seek, Write},
};

use pdf_writer::{Chunk, Ref, Settings};

/// PDF 1.7, and a comment of bytes above 127 that tells tools the file is binary.
const HEADER: &[u8] = b"%PDF-1.7\n%\x80\x80\x80\x80\n";

pub struct PdfFile {
    out: BufWriter<File>,
    /// Bytes written so far: the next object's offset.
    written: u64,
    /// The offset of object `n` at `n - 1`; `None` until it is written.
    offsets: Vec<Option<u64>>,
}

impl PdfFile {
    pub fn create() -> io::Result<Self> {
        let mut file = PdfFile {
            out: BufWriter::with_capacity(64 * 1024, tempfile::tempfile()?),
            written: 0,
            offsets: Vec::new(),
        };
        file.write(HEADER)?;
        Ok(file)
    }

    /// A new object number.
    pub fn alloc(&mut self) -> Ref {
        self.offsets.push(None);
        Ref::new(self.offsets.len() as i32)
    }

    /// Writes the one indirect object that `write` puts in a chunk (an allocated one, not yet
    /// written).
    pub fn object(&mut self, write: impl FnOnce(&mut Chunk)) -> io::Result<()> {
        let mut chunk = Chunk::with_settings(Settings { pretty: false });
        write(&mut chunk);
        let mut refs = chunk.refs();
        let (Some(id), None) = (refs.next(), refs.next()) else {
            return Err(io::Error::other("a chunk of one object was expected"));
        };
        let slot = usize::try_from(id.get() - 1)
            .ok()
            .and_then(|i| self.offsets.get_mut(i))
            .filter(|slot| slot.is_none())
            .ok_or_else(|| io::Error::other(format!("object {} is not free", id.get())))?;
        *slot = Some(self.written);
        self.write(chunk.as_bytes())
    }

    /// Writes the cross-reference table and the trailer naming `catalog` and `info`, and returns
    /// the file, positioned at its start.
    pub fn finish(mut self, catalog: Ref, info: Ref) -> io::Result<File> {
        let xref = self.written;
        let table = self.xref_table()?;
        self.write(&table)?;
        let size = self.offsets.len() + 1;
        let trailer = format!(
            "trailer\n<</Size {size}/Root {} 0 R/Info {} 0 R>>\nstartxref\n{xref}\n%%EOF\n",
            catalog.get(),
            info.get()
        );
        self.write(trailer.as_bytes())?;
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        Ok(file)
    }

    /// The classic table: object 0 is the head of the (empty) free list, then every object's
    /// offset in entries of exactly 20 bytes.
    fn xref_table(&self) -> io::Result<Vec<u8>> {
        let mut table = format!("xref\n0 {}\n0000000000 65535 f\r\n", self.offsets.len() + 1);
        for (i, offset) in self.offsets.iter().enumerate() {
            let offset =
                offset.ok_or_else(|| io::Error::other(format!("object {} is missing", i + 1)))?;
            table.push_str(&format!("{offset:010} 00000 n\r\n"));
        }
        Ok(table.into_bytes())
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use pdf_writer::Name;

    use super::*;

    #[test]
    fn the_cross_reference_table_points_at_each_object() {
        let mut pdf = PdfFile::create().unwrap();
        let first = pdf.alloc();
        let second = pdf.alloc();
        // Written out of order: the table is by number.
        pdf.object(|c| {
            c.indirect(second).primitive(Name(b"Two"));
        })
        .unwrap();
        pdf.object(|c| {
            c.indirect(first).primitive(Name(b"One"));
        })
        .unwrap();
        let mut bytes = Vec::new();
        pdf.finish(first, second)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        // The header's binary marker as ASCII, so that string offsets are the file's.
        let text: String = bytes
            .iter()
            .map(|&b| if b.is_ascii() { b as char } else { '?' })
            .collect();

        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(text[start..].starts_with("xref\n0 3\n0000000000 65535 f\r\n"));
        for (n, name) in [(1, "/One"), (2, "/Two")] {
            let entry = &text[start + 9 + 20 * n..][..20];
            let offset: usize = entry[..10].parse().unwrap();
            assert!(
                text[offset..].starts_with(&format!("{n} 0 obj\n{name}")),
                "{entry:?} -> {:?}",
                &text[offset..offset + 20]
            );
        }
        assert!(text.contains("trailer\n<</Size 3/Root 1 0 R/Info 2 0 R>>"));
        assert!(text.ends_with("%%EOF\n"));
    }

    #[test]
    fn an_object_is_written_once_and_every_object_is_written() {
        let mut pdf = PdfFile::create().unwrap();
        let id = pdf.alloc();
        let missing = pdf.alloc();
        let write = |c: &mut Chunk| {
            c.indirect(id).primitive(1);
        };
        pdf.object(write).unwrap();
        assert!(pdf.object(write).is_err(), "twice");
        assert!(pdf.object(|_| {}).is_err(), "no object");
        assert!(pdf.finish(id, missing).is_err(), "object 2 is missing");
    }
}
