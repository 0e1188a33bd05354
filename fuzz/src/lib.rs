//! Helpers the fuzz targets share: turning fuzz input into choices.

use libfuzzer_sys::arbitrary::Unstructured;

/// Picks a small number in `0..count` (0 when the input has run out).
pub fn pick(input: &mut Unstructured<'_>, count: usize) -> usize {
    if count == 0 {
        return 0;
    }
    input.int_in_range(0..=count - 1).unwrap_or(0)
}

/// Whether the input says yes (no when it has run out).
pub fn flip(input: &mut Unstructured<'_>) -> bool {
    input.arbitrary::<bool>().unwrap_or(false)
}
