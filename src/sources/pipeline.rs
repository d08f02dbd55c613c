//! The export pipeline shared by sources: batches of input → encoding in
//! parallel (rayon) → one writer that appends the encoded batches **in
//! input order** to the package, with a bounded number of batches in flight
//! (memory does not grow with the input), a progress hook, and the
//! conservation count every exporter reports (rows in = rows out + skipped).
//!
//! A source provides three things:
//! - `batches`: an iterator of input batches (rows of a file, pages or
//!   buckets of an API listing), read on the calling thread;
//! - `encode`: a pure function from a batch to its output bytes, run on the
//!   rayon pool, several batches at once;
//! - `write`: the only code that touches the [`crate::package::MigrationPackageWriter`],
//!   run on its own thread, receiving encoded batches in input order.
//!
//! Errors from any stage stop the run; the first one is returned. Clerk,
//! Firebase and the Auth0 bulk engine have the same three stages written out
//! by hand and can move onto [`run`].

use std::sync::mpsc::{sync_channel, Receiver};

/// Batches being encoded or waiting for the writer, by default.
pub const DEFAULT_IN_FLIGHT: usize = 8;

/// Failures of the pipeline itself (not of its stages).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("an encoding task panicked")]
    EncoderPanicked,
    #[error("the package writer thread panicked")]
    WriterPanicked,
    #[error("starting the package writer thread: {0}")]
    Thread(std::io::Error),
    #[error("rows do not add up: {rows_in} read, {rows_out} written, {skipped} skipped")]
    Conservation {
        rows_in: u64,
        rows_out: u64,
        skipped: u64,
    },
}

/// Rows read, written and skipped; every row read must be one of the other two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conservation {
    pub rows_in: u64,
    pub rows_out: u64,
    pub skipped: u64,
}

impl Conservation {
    pub fn add(&mut self, other: Conservation) {
        self.rows_in += other.rows_in;
        self.rows_out += other.rows_out;
        self.skipped += other.skipped;
    }

    /// Ok when rows in = rows out + skipped.
    pub fn check(&self) -> Result<(), PipelineError> {
        if self.rows_in == self.rows_out + self.skipped {
            Ok(())
        } else {
            Err(PipelineError::Conservation {
                rows_in: self.rows_in,
                rows_out: self.rows_out,
                skipped: self.skipped,
            })
        }
    }
}

/// Runs the three stages (see the module docs). `progress` is called on
/// the reading thread after each batch is handed to the encoders, with the
/// number of batches read so far. Returns that number.
pub fn run<In, Out, E, S, F, W>(
    batches: S,
    encode: F,
    write: W,
    in_flight: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<u64, E>
where
    S: IntoIterator<Item = Result<In, E>>,
    In: Send,
    Out: Send,
    E: Send + From<PipelineError>,
    F: Fn(In) -> Result<Out, E> + Sync,
    W: FnMut(Out) -> Result<(), E> + Send,
{
    let encode = &encode;
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<Receiver<Result<Out, E>>>(in_flight.max(1));
        let mut write = write;
        let writer = std::thread::Builder::new()
            .name("package-writer".into())
            .spawn_scoped(s, move || {
                for pending in rx {
                    let out = pending
                        .recv()
                        .map_err(|_| PipelineError::EncoderPanicked)??;
                    write(out)?;
                }
                Ok::<(), E>(())
            })
            .map_err(|e| E::from(PipelineError::Thread(e)))?;
        let read = rayon::in_place_scope(move |scope| {
            let tx = tx;
            let mut n = 0u64;
            for batch in batches {
                let batch = batch?;
                let (done, pending) = sync_channel(1);
                if tx.send(pending).is_err() {
                    break; // the writer failed; its error is reported
                }
                scope.spawn(move |_| {
                    let _ = done.send(encode(batch));
                });
                n += 1;
                progress(n);
            }
            Ok::<u64, E>(n)
        });
        let written = writer.join();
        // The writer's error explains a reader that stopped early.
        match written {
            Ok(Ok(())) => read,
            Ok(Err(e)) => Err(e),
            Err(_) => Err(PipelineError::WriterPanicked.into()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum TestError {
        Pipe(String),
        Bad(u32),
    }

    impl From<PipelineError> for TestError {
        fn from(e: PipelineError) -> Self {
            Self::Pipe(e.to_string())
        }
    }

    #[test]
    fn output_keeps_input_order_whatever_the_encoding_time() {
        let mut seen = Vec::new();
        let n = run(
            (0..200u32).map(Ok::<u32, TestError>),
            |i| {
                // Early batches take longest.
                std::thread::sleep(std::time::Duration::from_micros(u64::from(200 - i) * 20));
                Ok(i * 2)
            },
            |o| {
                seen.push(o);
                Ok(())
            },
            4,
            &|_| {},
        )
        .unwrap();
        assert_eq!(n, 200);
        assert_eq!(seen, (0..200).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn first_error_of_any_stage_stops_the_run() {
        let r = run(
            (0..50u32).map(|i| {
                if i == 7 {
                    Err(TestError::Bad(i))
                } else {
                    Ok(i)
                }
            }),
            Ok,
            |_| Ok(()),
            2,
            &|_| {},
        );
        assert_eq!(r, Err(TestError::Bad(7)));
        let r = run(
            (0..50u32).map(Ok),
            |i| {
                if i == 3 {
                    Err(TestError::Bad(i))
                } else {
                    Ok(i)
                }
            },
            |_| Ok(()),
            2,
            &|_| {},
        );
        assert_eq!(r, Err(TestError::Bad(3)));
        let r = run(
            (0..50u32).map(Ok),
            Ok,
            |o| {
                if o == 9 {
                    Err(TestError::Bad(o))
                } else {
                    Ok(())
                }
            },
            2,
            &|_| {},
        );
        assert_eq!(r, Err(TestError::Bad(9)));
    }

    #[test]
    fn conservation_adds_up_or_says_why_not() {
        let mut c = Conservation {
            rows_in: 3,
            rows_out: 2,
            skipped: 1,
        };
        assert!(c.check().is_ok());
        c.add(Conservation {
            rows_in: 1,
            ..Default::default()
        });
        assert_eq!(
            c.check().unwrap_err().to_string(),
            "rows do not add up: 4 read, 2 written, 1 skipped"
        );
    }
}
