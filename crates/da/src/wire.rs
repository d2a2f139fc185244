//! Byte-level helpers shared by the payload layouts: LEB128 varints, zigzag,
//! and a cursor whose every read is bounded by the bytes that remain.

/// Appends `value` as an unsigned LEB128 varint (1 to 19 bytes for a `u128`).
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u128) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Zigzag mapping of a signed delta to an unsigned one (small magnitudes
/// stay small).
pub(crate) const fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub(crate) const fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ ((v & 1) as i64).wrapping_neg()
}

/// A read cursor over untrusted bytes. Every read checks what remains and
/// returns `None` past the end, so a decoder cannot index out of bounds.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    /// Bytes consumed so far (for error messages).
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A cursor at the start of `bytes`.
    pub(crate) const fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Offset of the next byte.
    pub(crate) const fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub(crate) const fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// The next `n` bytes, or `None` if fewer remain.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        self.pos = self.pos.saturating_add(n);
        Some(head)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|b| b.try_into().ok())
    }

    /// The next byte.
    pub(crate) fn byte(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    /// An unsigned LEB128 varint of at most 128 bits, in its shortest form
    /// (a redundant trailing zero group or an overflow is refused).
    pub(crate) fn varint(&mut self) -> Option<u128> {
        let mut value: u128 = 0;
        let mut shift = 0u32;
        loop {
            let byte = self.byte()?;
            let group = u128::from(byte & 0x7f);
            if shift > 0 && byte == 0 {
                return None; // not the shortest form
            }
            // Groups start at bits 0, 7, ..., 126; the last holds 2 bits.
            if shift > 126 || (shift == 126 && group > 3) {
                return None; // overflow
            }
            value |= group << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
            shift = shift.checked_add(7)?;
        }
    }

    /// A varint that fits a `u64`.
    pub(crate) fn varint_u64(&mut self) -> Option<u64> {
        self.varint().and_then(|v| u64::try_from(v).ok())
    }

    /// A varint that fits a `usize`.
    pub(crate) fn varint_usize(&mut self) -> Option<usize> {
        self.varint().and_then(|v| usize::try_from(v).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(v in any::<u128>()) {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut r = Reader::new(&out);
            prop_assert_eq!(r.varint(), Some(v));
            prop_assert_eq!(r.remaining(), 0);
        }

        #[test]
        fn zigzag_round_trips(v in any::<i64>()) {
            prop_assert_eq!(unzigzag(zigzag(v)), v);
        }

        #[test]
        fn a_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut r = Reader::new(&bytes);
            while r.varint().is_some() {}
            let _ = r.take(usize::MAX);
        }
    }

    #[test]
    fn overlong_and_overflowing_varints_are_refused() {
        assert_eq!(Reader::new(&[0x80, 0x00]).varint(), None);
        assert_eq!(Reader::new(&[0xff; 19]).varint(), None);
        let mut max = Vec::new();
        put_varint(&mut max, u128::MAX);
        assert_eq!(max.len(), 19);
        let mut over = max.clone();
        if let Some(last) = over.last_mut() {
            *last = 0x7f;
        }
        assert_eq!(Reader::new(&over).varint(), None);
        assert_eq!(Reader::new(&[0x80]).varint(), None);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }
}
