//! An append-only list that never moves what it holds: the store's event
//! logs (per organization, and the feed across them).

/// How many entries a chunk holds: an organization's events chunk is about
/// 90 KiB (an [`Event`](crate::Event) is under 200 bytes), below the size
/// from which the system allocator maps memory of its own.
const CHUNK: usize = 512;

/// A list appended to at its end and popped from it (an undone append),
/// kept in chunks of [`CHUNK`] entries.
///
/// A `Vec` doubles when full and copies every entry it holds into the new
/// allocation: a store's event log grows with every command, so that copy
/// (and the fresh memory it touches twice over) was a share of issuing
/// itself (issue 15). Here a full chunk stays where it is and the next
/// one starts empty. Only the first chunk grows as a `Vec` does, up to
/// [`CHUNK`] entries, so that the log of an organization with a few events
/// costs a few entries, not a chunk.
///
/// Every chunk but the last holds exactly [`CHUNK`] entries, so entry `i`
/// is in chunk `i / CHUNK` at `i % CHUNK`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Log<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Log<T> {
    /// How many entries it holds.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Appends `value` at the end.
    pub(super) fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(value),
            // The first chunk grows from nothing; the others are made whole.
            None => self.chunks.push(vec![value]),
            Some(_) => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(value);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    /// Removes the last entry.
    pub(super) fn pop(&mut self) -> Option<T> {
        let last = self.chunks.last_mut()?;
        let value = last.pop();
        if last.is_empty() {
            self.chunks.pop();
        }
        if value.is_some() {
            self.len -= 1;
        }
        value
    }

    /// Entry `i` (from 0).
    pub(super) fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    /// The entries from `start` on, in order.
    pub(super) fn iter_from(&self, start: usize) -> impl Iterator<Item = &T> + '_ {
        let (first, skip) = (start / CHUNK, start % CHUNK);
        self.chunks
            .iter()
            .skip(first)
            .enumerate()
            .flat_map(move |(k, chunk)| chunk.iter().skip(if k == 0 { skip } else { 0 }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the log does to a `Vec` doing the same.
    #[derive(Clone, Debug)]
    enum Op {
        Push(u32),
        Pop,
    }

    fn op() -> impl Strategy<Value = Op> {
        // Mostly pushes, so that logs cross several chunks.
        prop_oneof![8 => any::<u32>().prop_map(Op::Push), 1 => Just(Op::Pop)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn a_log_reads_as_the_vec_of_its_pushes_and_pops(
            ops in prop::collection::vec(op(), 0..3 * CHUNK),
            starts in prop::collection::vec(0usize..4 * CHUNK, 4),
        ) {
            let (mut log, mut model) = (Log::default(), Vec::new());
            for op in ops {
                match op {
                    Op::Push(v) => {
                        log.push(v);
                        model.push(v);
                    }
                    Op::Pop => prop_assert_eq!(log.pop(), model.pop()),
                }
                prop_assert_eq!(log.len(), model.len());
            }
            for i in 0..model.len() + 2 {
                prop_assert_eq!(log.get(i), model.get(i));
            }
            for start in starts {
                let got: Vec<u32> = log.iter_from(start).copied().collect();
                prop_assert_eq!(got, model.get(start..).unwrap_or_default().to_vec());
            }
        }
    }

    #[test]
    fn full_chunks_stay_where_they_are() {
        let mut log = Log::default();
        for i in 0..CHUNK {
            log.push(i);
        }
        let first = log.chunks[0].as_ptr();
        for i in CHUNK..3 * CHUNK + 1 {
            log.push(i);
        }
        // Growing did not move the first chunk, and every later chunk was
        // made whole at once.
        assert_eq!(log.chunks[0].as_ptr(), first);
        assert!(log.chunks[1..].iter().all(|c| c.capacity() == CHUNK));
        assert_eq!(log.get(2 * CHUNK + 7), Some(&(2 * CHUNK + 7)));
        // Popping back across a chunk's start drops the emptied chunk.
        assert_eq!(log.pop(), Some(3 * CHUNK));
        assert_eq!(log.chunks.len(), 3);
        assert_eq!(log.len(), 3 * CHUNK);
        assert_eq!(log.iter_from(3 * CHUNK).count(), 0);
    }
}
