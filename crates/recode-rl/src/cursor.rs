//! The order in which training items are used: shuffled by the seed, one permutation per
//! epoch, as many epochs as the run needs. The state is four numbers, saved in checkpoints so a
//! resumed run continues with exactly the items an uninterrupted run would have taken.
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// Everything needed to continue a [`DataCursor`]: save it in a checkpoint, restore it with
/// [`DataCursor::from_state`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CursorState {
    /// Number of items in the data set the cursor walks over.
    pub len: usize,
    /// The run's seed (each epoch's permutation is derived from it and the epoch number).
    pub seed: u64,
    /// False: items in file order every epoch.
    pub shuffle: bool,
    /// Epochs completed so far (0 during the first pass).
    pub epoch: u64,
    /// Items of the current epoch already handed out.
    pub position: usize,
}

/// A checkpointed cursor that does not fit the data it is restored for.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CursorError {
    #[error("the data set is empty: no items to train on")]
    Empty,
    #[error(
        "the checkpoint's data cursor is for {saved} items but the data file has {actual}: the training data changed since the checkpoint"
    )]
    LengthMismatch { saved: usize, actual: usize },
    #[error("the checkpoint's data cursor is at position {position} of an epoch of {len} items")]
    PositionOutOfRange { position: usize, len: usize },
}

/// Hands out item indices in `0..len`: a permutation per epoch (derived from `seed` and the
/// epoch number, so it never needs to be stored), crossing into the next epoch as needed.
#[derive(Debug, Clone, PartialEq)]
pub struct DataCursor {
    state: CursorState,
    order: Vec<usize>,
}

impl DataCursor {
    /// A cursor at the start of the first epoch.
    pub fn new(len: usize, seed: u64, shuffle: bool) -> Result<Self, CursorError> {
        Self::from_state(CursorState { len, seed, shuffle, epoch: 0, position: 0 }, len)
    }

    /// Restores a saved cursor for a data set of `actual_len` items (which must be the length
    /// it was saved for).
    pub fn from_state(state: CursorState, actual_len: usize) -> Result<Self, CursorError> {
        if actual_len == 0 {
            return Err(CursorError::Empty);
        }
        if state.len != actual_len {
            return Err(CursorError::LengthMismatch { saved: state.len, actual: actual_len });
        }
        if state.position > state.len {
            return Err(CursorError::PositionOutOfRange { position: state.position, len: state.len });
        }
        let order = epoch_order(state.len, state.seed, state.shuffle, state.epoch);
        Ok(DataCursor { state, order })
    }

    /// The state to save in a checkpoint.
    pub fn state(&self) -> &CursorState {
        &self.state
    }

    /// Epochs completed plus the fraction of the current one, e.g. 1.25.
    pub fn epochs_done(&self) -> f64 {
        self.state.epoch as f64 + self.state.position as f64 / self.state.len as f64
    }

    /// The next `n` item indices. A batch that crosses an epoch boundary takes the rest of
    /// this epoch and the start of the next (so a data set smaller than `n` repeats items).
    pub fn next_indices(&mut self, n: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            if self.state.position == self.state.len {
                self.state.epoch += 1;
                self.state.position = 0;
                self.order = epoch_order(self.state.len, self.state.seed, self.state.shuffle, self.state.epoch);
            }
            let take = (n - out.len()).min(self.state.len - self.state.position);
            out.extend_from_slice(&self.order[self.state.position..self.state.position + take]);
            self.state.position += take;
        }
        out
    }
}

/// The permutation of `0..len` used in `epoch`.
fn epoch_order(len: usize, seed: u64, shuffle: bool, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    if shuffle {
        Rng::derive(seed, epoch).shuffle(&mut order);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_epoch_is_a_permutation_and_epochs_differ() {
        let mut cursor = DataCursor::new(10, 42, true).unwrap();
        let first = cursor.next_indices(10);
        let second = cursor.next_indices(10);
        for epoch in [&first, &second] {
            let mut sorted = epoch.clone();
            sorted.sort();
            assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        }
        assert_ne!(first, second);
        assert_ne!(first, (0..10).collect::<Vec<_>>());
        assert_eq!(cursor.epochs_done(), 2.0);
    }

    #[test]
    fn unshuffled_cursor_walks_in_file_order_across_epochs() {
        let mut cursor = DataCursor::new(3, 42, false).unwrap();
        assert_eq!(cursor.next_indices(2), [0, 1]);
        assert_eq!(cursor.next_indices(2), [2, 0]);
        assert_eq!(cursor.next_indices(5), [1, 2, 0, 1, 2]);
        assert_eq!(cursor.state().epoch, 2);
        assert_eq!(cursor.epochs_done(), 3.0);
    }

    #[test]
    fn the_same_seed_gives_the_same_order_and_another_seed_another() {
        let a = DataCursor::new(50, 7, true).unwrap().next_indices(120);
        let b = DataCursor::new(50, 7, true).unwrap().next_indices(120);
        let c = DataCursor::new(50, 8, true).unwrap().next_indices(120);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn resuming_from_a_saved_state_continues_exactly() {
        let mut straight = DataCursor::new(7, 3, true).unwrap();
        let expected: Vec<Vec<usize>> = (0..6).map(|_| straight.next_indices(3)).collect();

        let mut first = DataCursor::new(7, 3, true).unwrap();
        let mut got: Vec<Vec<usize>> = (0..3).map(|_| first.next_indices(3)).collect();
        let saved = serde_json::to_string(first.state()).unwrap();
        let mut resumed = DataCursor::from_state(serde_json::from_str(&saved).unwrap(), 7).unwrap();
        got.extend((0..3).map(|_| resumed.next_indices(3)));
        assert_eq!(got, expected);
    }

    #[test]
    fn restoring_for_other_data_is_an_error() {
        let state = DataCursor::new(7, 3, true).unwrap().state().clone();
        assert_eq!(DataCursor::from_state(state.clone(), 8), Err(CursorError::LengthMismatch { saved: 7, actual: 8 }));
        assert_eq!(DataCursor::new(0, 1, true), Err(CursorError::Empty));
        let bad = CursorState { position: 9, ..state };
        assert_eq!(DataCursor::from_state(bad, 7), Err(CursorError::PositionOutOfRange { position: 9, len: 7 }));
    }
}
