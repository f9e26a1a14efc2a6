//! Cursor paging as the list endpoints define it (`GET /responses/{id}/input_items`): which
//! slice of an ordered list one page is, given the `after` and `before` cursors and `limit`.
//!
//! Servers and test doubles that serve such lists share this rule, so they cannot disagree on
//! where a page starts or on `has_more`.

use std::ops::Range;

/// One page of an ordered list: the positions it holds and whether more lie beyond it in the
/// direction of travel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageBounds {
    /// Positions in the ordered list (already in the requested `order`).
    pub range: Range<usize>,
    /// The response's `has_more`.
    pub has_more: bool,
}

impl PageBounds {
    /// The page of a list of `len` items in the requested order.
    ///
    /// `after` and `before` are the cursors' positions in that order. The window lies strictly
    /// between them. Paging forward (`after`, or no cursor) takes the window's first `limit`
    /// items; paging back (`before` alone) takes its last `limit`, still in the requested
    /// order. A `before` at or ahead of `after` gives an empty page.
    ///
    /// ```
    /// use routewise_types::PageBounds;
    /// // Five items, the page just before position 3, two at a time: positions 1 and 2,
    /// // with position 0 still further back.
    /// let page = PageBounds::of(5, None, Some(3), 2);
    /// assert_eq!((page.range, page.has_more), (1..3, true));
    /// // Forward after position 1: positions 2 and 3, and 4 is left.
    /// assert_eq!(PageBounds::of(5, Some(1), None, 2).range, 2..4);
    /// ```
    pub fn of(len: usize, after: Option<usize>, before: Option<usize>, limit: usize) -> Self {
        let from = after.map_or(0, |a| a.saturating_add(1).min(len));
        let to = before.map_or(len, |b| b.min(len).max(from));
        let window = to - from;
        if before.is_some() && after.is_none() {
            let skip = window.saturating_sub(limit);
            Self {
                range: from + skip..to,
                has_more: skip > 0,
            }
        } else {
            let take = window.min(limit);
            Self {
                range: from..from + take,
                has_more: take < window,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_pages_walk_the_list_and_say_when_it_ends() {
        assert_eq!(PageBounds::of(5, None, None, 2).range, 0..2);
        let last = PageBounds::of(5, Some(3), None, 2);
        assert_eq!((last.range, last.has_more), (4..5, false));
        let past = PageBounds::of(5, Some(4), None, 2);
        assert_eq!((past.range, past.has_more), (5..5, false));
    }

    #[test]
    fn both_cursors_bound_the_window_and_crossed_ones_are_empty() {
        let between = PageBounds::of(10, Some(1), Some(6), 3);
        assert_eq!((between.range, between.has_more), (2..5, true));
        let crossed = PageBounds::of(10, Some(6), Some(2), 3);
        assert_eq!((crossed.range, crossed.has_more), (7..7, false));
    }

    #[test]
    fn positions_out_of_range_are_clamped_not_a_panic() {
        assert_eq!(PageBounds::of(3, Some(7), None, 2).range, 3..3);
        assert_eq!(PageBounds::of(3, None, Some(9), 2).range, 1..3);
        assert_eq!(PageBounds::of(0, None, None, 20).range, 0..0);
        assert_eq!(PageBounds::of(3, Some(usize::MAX), None, 2).range, 3..3);
    }
}
