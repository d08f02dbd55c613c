//! The gzip writer of job downloads: flate2 for levels 1–9, and for level 0
//! a hand-framed stream of stored deflate blocks (copy + CRC only), the
//! fastest valid gzip when throughput matters more than size.

use std::io::Write as _;

use flate2::write::GzEncoder;
use flate2::{Compression, Crc};

/// Largest stored deflate block.
const STORED_MAX: usize = 65_535;
/// gzip header: magic, deflate, no flags, no mtime, no extra flags, OS
/// unknown.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// A gzip encoder writing into an in-memory buffer the caller drains.
pub enum Gzip {
    Deflate(GzEncoder<Vec<u8>>),
    Stored(Stored),
}

/// gzip made of stored (uncompressed) deflate blocks.
pub struct Stored {
    out: Vec<u8>,
    block: Vec<u8>,
    crc: Crc,
}

impl Stored {
    fn frame(&mut self, last: bool) {
        let len = self.block.len() as u16;
        self.out.push(u8::from(last));
        self.out.extend_from_slice(&len.to_le_bytes());
        self.out.extend_from_slice(&(!len).to_le_bytes());
        self.out.extend_from_slice(&self.block);
        self.block.clear();
    }

    fn write(&mut self, mut data: &[u8]) {
        self.crc.update(data);
        while !data.is_empty() {
            let take = (STORED_MAX - self.block.len()).min(data.len());
            self.block.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.block.len() == STORED_MAX {
                self.frame(false);
            }
        }
    }
}

impl Gzip {
    pub fn new(level: u32, capacity: usize) -> Self {
        if level == 0 {
            let mut out = Vec::with_capacity(capacity);
            out.extend_from_slice(&GZIP_HEADER);
            Gzip::Stored(Stored {
                out,
                block: Vec::with_capacity(STORED_MAX),
                crc: Crc::new(),
            })
        } else {
            Gzip::Deflate(GzEncoder::new(
                Vec::with_capacity(capacity),
                Compression::new(level.min(9)),
            ))
        }
    }

    pub fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Gzip::Deflate(e) => e.write_all(data),
            Gzip::Stored(s) => {
                s.write(data);
                Ok(())
            }
        }
    }

    /// Makes everything written so far decodable from the buffer (a sync
    /// flush; stored: the partial block is framed).
    pub fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Gzip::Deflate(e) => e.flush(),
            Gzip::Stored(s) => {
                if !s.block.is_empty() {
                    s.frame(false);
                }
                Ok(())
            }
        }
    }

    /// Bytes ready in the buffer.
    pub fn buffered(&self) -> usize {
        match self {
            Gzip::Deflate(e) => e.get_ref().len(),
            Gzip::Stored(s) => s.out.len(),
        }
    }

    /// Drains the buffer.
    pub fn take(&mut self, capacity: usize) -> Vec<u8> {
        let buf = match self {
            Gzip::Deflate(e) => e.get_mut(),
            Gzip::Stored(s) => &mut s.out,
        };
        std::mem::replace(buf, Vec::with_capacity(capacity))
    }

    /// The rest of the stream: final block and trailer.
    pub fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            Gzip::Deflate(e) => e.finish(),
            Gzip::Stored(mut s) => {
                s.frame(true);
                let (sum, amount) = (s.crc.sum(), s.crc.amount());
                s.out.extend_from_slice(&sum.to_le_bytes());
                s.out.extend_from_slice(&amount.to_le_bytes());
                Ok(s.out)
            }
        }
    }
}
