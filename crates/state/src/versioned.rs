//! A multi-version ordered map: every write is tagged with the version
//! (transaction number) that made it, and reads name the version they read
//! at. Old values stay until no reader can see them any more.

use std::{
    collections::{BTreeMap, VecDeque},
    ops::RangeBounds,
};

/// An ordered map whose past versions stay readable.
pub(crate) struct VersionedMap<K, V> {
    entries: BTreeMap<K, Versions<V>>,
    /// Keys that gained an older value at each version, oldest version
    /// first: what [`Self::prune`] looks at.
    overwritten: VecDeque<(u64, Vec<K>)>,
}

/// The values of one key, each with the version that wrote it. `None` is a
/// deletion.
struct Versions<V> {
    newest: (u64, Option<V>),
    /// Values before `newest`, oldest first. Usually empty.
    older: Vec<(u64, Option<V>)>,
}

impl<V> Versions<V> {
    /// The value a reader at version `at` sees.
    fn at(&self, at: u64) -> Option<&V> {
        if self.newest.0 <= at {
            return self.newest.1.as_ref();
        }
        self.older
            .iter()
            .rev()
            .find(|(version, _)| *version <= at)
            .and_then(|(_, value)| value.as_ref())
    }
}

impl<K, V> Default for VersionedMap<K, V> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
            overwritten: VecDeque::new(),
        }
    }
}

impl<K: Ord + Clone, V> VersionedMap<K, V> {
    /// The value of `key` as of version `at`.
    pub(crate) fn get(&self, key: &K, at: u64) -> Option<&V> {
        self.entries.get(key).and_then(|v| v.at(at))
    }

    /// The first key in `range` that has a value as of version `at`.
    pub(crate) fn first_in<R: RangeBounds<K>>(&self, range: R, at: u64) -> Option<(&K, &V)> {
        self.entries
            .range(range)
            .find_map(|(k, v)| v.at(at).map(|value| (k, value)))
    }

    /// Every key with a value as of version `at`, in order.
    pub(crate) fn iter_at(&self, at: u64) -> impl Iterator<Item = (&K, &V)> {
        self.entries
            .iter()
            .filter_map(move |(k, v)| v.at(at).map(|value| (k, value)))
    }

    /// Writes `value` (`None` deletes) as of `version`, which must be newer
    /// than every version written before.
    pub(crate) fn write(&mut self, version: u64, key: K, value: Option<V>) {
        match self.entries.get_mut(&key) {
            Some(versions) => {
                let previous = std::mem::replace(&mut versions.newest, (version, value));
                versions.older.push(previous);
                match self.overwritten.back_mut() {
                    Some((v, keys)) if *v == version => keys.push(key),
                    _ => self.overwritten.push_back((version, vec![key])),
                }
            }
            None => {
                if value.is_some() {
                    self.entries.insert(
                        key,
                        Versions {
                            newest: (version, value),
                            older: Vec::new(),
                        },
                    );
                }
            }
        }
    }

    /// Forgets every value that no reader at `oldest_read` or later can
    /// see: values replaced at or before `oldest_read`, and deletions made
    /// at or before it.
    pub(crate) fn prune(&mut self, oldest_read: u64) {
        while let Some((version, _)) = self.overwritten.front() {
            if *version > oldest_read {
                break;
            }
            let Some((_, keys)) = self.overwritten.pop_front() else {
                break;
            };
            for key in keys {
                let Some(versions) = self.entries.get_mut(&key) else {
                    continue;
                };
                if versions.newest.0 <= oldest_read {
                    versions.older.clear();
                    if versions.newest.1.is_none() {
                        self.entries.remove(&key);
                    }
                } else if let Some(visible) = versions
                    .older
                    .iter()
                    .rposition(|(version, _)| *version <= oldest_read)
                {
                    versions.older.drain(..visible);
                }
            }
        }
    }

    /// Number of keys held, deleted ones not yet pruned included.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_see_the_version_they_read_at() {
        let mut m = VersionedMap::default();
        m.write(1, "a", Some(1));
        m.write(2, "a", Some(2));
        m.write(2, "b", Some(20));
        m.write(3, "a", None);
        assert_eq!(m.get(&"a", 0), None);
        assert_eq!(m.get(&"a", 1), Some(&1));
        assert_eq!(m.get(&"a", 2), Some(&2));
        assert_eq!(m.get(&"a", 3), None);
        assert_eq!(m.get(&"b", 1), None);
        assert_eq!(m.get(&"b", 3), Some(&20));
        assert_eq!(m.iter_at(2).collect::<Vec<_>>(), [(&"a", &2), (&"b", &20)]);
        assert_eq!(m.iter_at(3).collect::<Vec<_>>(), [(&"b", &20)]);
        assert_eq!(m.first_in("a"..="b", 3), Some((&"b", &20)));
        assert_eq!(m.first_in("a"..="b", 1), Some((&"a", &1)));
    }

    #[test]
    fn pruning_keeps_what_readers_can_see_and_drops_deletions() {
        let mut m = VersionedMap::default();
        m.write(1, 1u8, Some("one"));
        m.write(2, 1u8, Some("two"));
        m.write(3, 1u8, Some("three"));
        m.write(3, 2u8, Some("x"));
        m.write(4, 2u8, None);
        // A reader at 2 still sees "two".
        m.prune(2);
        assert_eq!(m.get(&1, 2), Some(&"two"));
        assert_eq!(m.get(&1, 4), Some(&"three"));
        assert_eq!(m.get(&2, 3), Some(&"x"));
        // Nobody reads before 4: one value per key, the deleted key gone.
        m.prune(4);
        assert_eq!(m.held(), 1);
        assert_eq!(m.get(&1, 4), Some(&"three"));
        assert!(m.overwritten.is_empty());
        let versions = m.entries.get(&1).map(|v| v.older.len());
        assert_eq!(versions, Some(0));
    }
}
