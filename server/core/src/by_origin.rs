//! `ByOrigin<T>`: one value for each [`Origin`], indexed by the origin itself, so that counts by
//! origin never go through a bare array index.

use std::ops::{AddAssign, Index, IndexMut};

use crate::line_map::Origin;

const ORIGINS: usize = Origin::ALL.len();

/// One `T` for each origin. Iteration goes in the order of [`Origin::ALL`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ByOrigin<T>([T; ORIGINS]);

impl<T> ByOrigin<T> {
    /// The value of each origin, from `value_of`, called in the order of [`Origin::ALL`].
    pub fn from_fn(mut value_of: impl FnMut(Origin) -> T) -> ByOrigin<T> {
        ByOrigin(Origin::ALL.map(&mut value_of))
    }

    /// Each origin with its value.
    pub fn iter(&self) -> impl Iterator<Item = (Origin, &T)> {
        Origin::ALL.into_iter().zip(&self.0)
    }

    /// Each origin with its value, to change in place.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Origin, &mut T)> {
        Origin::ALL.into_iter().zip(&mut self.0)
    }

    /// The values alone, in the order of [`Origin::ALL`].
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.0.iter()
    }

    /// A value for each origin, made from this one's.
    pub fn map<U>(self, mut value: impl FnMut(Origin, T) -> U) -> ByOrigin<U> {
        let mut origins = Origin::ALL.into_iter();
        ByOrigin(self.0.map(|item| {
            // The array and Origin::ALL have the same length, so an origin is always there.
            let origin = origins.next().unwrap_or(Origin::Typed);
            value(origin, item)
        }))
    }
}

impl<T> From<[T; ORIGINS]> for ByOrigin<T> {
    /// The values in the order of [`Origin::ALL`]: typed, pasted, generated, moved, external,
    /// restored.
    fn from(values: [T; ORIGINS]) -> ByOrigin<T> {
        ByOrigin(values)
    }
}

impl ByOrigin<u64> {
    /// The sum over every origin (saturating).
    pub fn total(&self) -> u64 {
        self.0
            .iter()
            .fold(0, |sum, &count| sum.saturating_add(count))
    }
}

impl ByOrigin<usize> {
    /// The sum over every origin.
    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }
}

impl<T: AddAssign> AddAssign for ByOrigin<T> {
    /// Adds each origin's value to this one's.
    fn add_assign(&mut self, other: ByOrigin<T>) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }
}

impl<T> Index<Origin> for ByOrigin<T> {
    type Output = T;

    fn index(&self, origin: Origin) -> &T {
        // Origin's discriminants are 0..6 in the order of Origin::ALL (checked by a test below).
        &self.0[origin as usize]
    }
}

impl<T> IndexMut<Origin> for ByOrigin<T> {
    fn index_mut(&mut self, origin: Origin) -> &mut T {
        &mut self.0[origin as usize]
    }
}

impl<T> IntoIterator for ByOrigin<T> {
    type Item = (Origin, T);
    type IntoIter =
        std::iter::Zip<std::array::IntoIter<Origin, ORIGINS>, std::array::IntoIter<T, ORIGINS>>;

    fn into_iter(self) -> Self::IntoIter {
        Origin::ALL.into_iter().zip(self.0)
    }
}

impl<'a, T> IntoIterator for &'a ByOrigin<T> {
    type Item = (Origin, &'a T);
    type IntoIter = std::iter::Zip<std::array::IntoIter<Origin, ORIGINS>, std::slice::Iter<'a, T>>;

    fn into_iter(self) -> Self::IntoIter {
        Origin::ALL.into_iter().zip(self.0.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_origin_has_its_own_slot_in_the_order_of_all() {
        let mut counts = ByOrigin::<u64>::default();
        for (position, origin) in Origin::ALL.into_iter().enumerate() {
            counts[origin] = position as u64 * 10;
        }
        let seen: Vec<(Origin, u64)> = counts
            .iter()
            .map(|(origin, &count)| (origin, count))
            .collect();
        let expected: Vec<(Origin, u64)> = Origin::ALL
            .into_iter()
            .enumerate()
            .map(|(position, origin)| (origin, position as u64 * 10))
            .collect();
        assert_eq!(seen, expected);
        assert_eq!(counts.into_iter().collect::<Vec<_>>(), expected);
        assert_eq!(counts.total(), 150);
    }

    #[test]
    fn from_fn_and_map_pair_values_with_their_origin() {
        let names = ByOrigin::from_fn(Origin::as_str);
        assert_eq!(names[Origin::Generated], "generated");
        let lengths = names.map(|origin, name| (origin, name.len()));
        assert_eq!(lengths[Origin::Moved], (Origin::Moved, 5));
        assert_eq!(ByOrigin::from_fn(|_| u64::MAX).total(), u64::MAX);
    }
}
