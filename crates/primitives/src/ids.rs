//! Identifiers and time: slots, epochs, block numbers, block indices and
//! millisecond timestamps.
//!
//! Each is a newtype so that a slot can never be passed where a block number
//! is expected. Arithmetic on them is checked: a value that came off the wire
//! must not be able to overflow a computation.

use core::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident($inner:ty), $label:literal) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl $name {
            /// The raw value.
            pub const fn get(self) -> $inner {
                self.0
            }

            /// The next value, or `None` at the end of the range.
            pub const fn checked_next(self) -> Option<Self> {
                match self.0.checked_add(1) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }

            /// The previous value, or `None` at zero.
            pub const fn checked_prev(self) -> Option<Self> {
                match self.0.checked_sub(1) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }
        }

        impl From<$inner> for $name {
            fn from(v: $inner) -> Self {
                Self(v)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "{}"), self.0)
            }
        }
    };
}

id_newtype!(
    /// A slot: the window of `slot_duration` during which one proposer is in charge.
    Slot(u64),
    "slot "
);
id_newtype!(
    /// An epoch: `epoch_slots` consecutive slots sharing one committee.
    Epoch(u64),
    "epoch "
);
id_newtype!(
    /// Height of an L2 block (genesis is 0).
    BlockNumber(u64),
    "block #"
);
id_newtype!(
    /// Position of a block within its slot, from 0 to `chunks_per_slot - 1`.
    BlockIndex(u32),
    "index "
);

impl Slot {
    /// The epoch this slot belongs to, given the number of slots per epoch.
    ///
    /// Returns `None` when `epoch_slots` is zero (a `ChainSpec` never allows it).
    pub const fn epoch(self, epoch_slots: u32) -> Option<Epoch> {
        match self.0.checked_div(epoch_slots as u64) {
            Some(e) => Some(Epoch(e)),
            None => None,
        }
    }
}

impl Epoch {
    /// The first slot of this epoch, or `None` if it does not fit in a `u64`.
    pub const fn first_slot(self, epoch_slots: u32) -> Option<Slot> {
        match self.0.checked_mul(epoch_slots as u64) {
            Some(s) => Some(Slot(s)),
            None => None,
        }
    }
}

/// A point in time: milliseconds since the unix epoch.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    /// The raw number of milliseconds.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// This instant plus `ms` milliseconds, or `None` on overflow.
    pub const fn checked_add_ms(self, ms: u64) -> Option<Self> {
        match self.0.checked_add(ms) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// This instant minus `ms` milliseconds, or `None` before the unix epoch.
    pub const fn checked_sub_ms(self, ms: u64) -> Option<Self> {
        match self.0.checked_sub(ms) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// Milliseconds from `earlier` to `self`, or `None` if `earlier` is later.
    pub const fn millis_since(self, earlier: Self) -> Option<u64> {
        self.0.checked_sub(earlier.0)
    }

    /// Whole seconds since the unix epoch (rounded down), as L1 timestamps count.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }
}

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_to_epoch_and_back() {
        assert_eq!(Slot(0).epoch(32), Some(Epoch(0)));
        assert_eq!(Slot(31).epoch(32), Some(Epoch(0)));
        assert_eq!(Slot(32).epoch(32), Some(Epoch(1)));
        assert_eq!(Slot(5).epoch(0), None);
        assert_eq!(Epoch(3).first_slot(32), Some(Slot(96)));
        assert_eq!(Epoch(u64::MAX).first_slot(32), None);
    }

    #[test]
    fn checked_steps_stop_at_the_ends() {
        assert_eq!(Slot(u64::MAX).checked_next(), None);
        assert_eq!(BlockIndex(0).checked_prev(), None);
        assert_eq!(BlockIndex(1).checked_prev(), Some(BlockIndex(0)));
        assert_eq!(UnixMillis(5).checked_sub_ms(6), None);
        assert_eq!(UnixMillis(u64::MAX).checked_add_ms(1), None);
        assert_eq!(UnixMillis(2500).as_secs(), 2);
        assert_eq!(UnixMillis(10).millis_since(UnixMillis(4)), Some(6));
    }

    #[test]
    fn display_names_the_kind() {
        assert_eq!(Slot(7).to_string(), "slot 7");
        assert_eq!(BlockNumber(3).to_string(), "block #3");
    }
}
