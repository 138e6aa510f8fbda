//! The one pagination model: a window (offset, limit) over results in a stable order, and
//! a page that knows whether more remain.
//!
//! CAR asks by page number and size (0-based pages); QPS by a 1-based `startFromOffset` and
//! `limitResults`, and pages onward with `id GREATER lastId`. Both become a [`Window`].

/// Which slice of the ordered results to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: u64,
    pub limit: u64,
}

impl Window {
    /// CAR: `pageNumber` (from 0) of `pageSize` records.
    pub fn car(page_number: u64, page_size: u64) -> Window {
        Window {
            offset: page_number.saturating_mul(page_size),
            limit: page_size,
        }
    }

    /// QPS: `limitResults` records from the 1-based `startFromOffset`.
    pub fn qps(start_from_offset: u64, limit_results: u64) -> Window {
        Window {
            offset: start_from_offset.saturating_sub(1),
            limit: limit_results,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Whether records remain after this page.
    pub has_more: bool,
    /// The number of matching records in all pages, when it was asked for.
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// Cut a page from `fetched`, which holds up to `limit + 1` records from the window's
    /// offset: the extra one only tells that more remain.
    pub fn from_overfetch(mut fetched: Vec<T>, window: Window, total: Option<u64>) -> Page<T> {
        let limit = usize::try_from(window.limit).unwrap_or(usize::MAX);
        let has_more = fetched.len() > limit;
        fetched.truncate(limit);
        Page {
            items: fetched,
            has_more,
            total,
        }
    }

    /// The same page with each record turned into another (its window facts kept).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_more: self.has_more,
            total: self.total,
        }
    }

    /// [`Page::map`] with a step that may fail: the first error, or the whole page.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, E>>()?,
            has_more: self.has_more,
            total: self.total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        assert_eq!(
            Window::car(0, 10),
            Window {
                offset: 0,
                limit: 10
            }
        );
        assert_eq!(
            Window::car(2, 30),
            Window {
                offset: 60,
                limit: 30
            }
        );
        assert_eq!(
            Window::qps(1, 100),
            Window {
                offset: 0,
                limit: 100
            }
        );
        assert_eq!(
            Window::qps(11, 5),
            Window {
                offset: 10,
                limit: 5
            }
        );
    }

    #[test]
    fn overfetch_tells_whether_more_remain() {
        let w = Window {
            offset: 0,
            limit: 2,
        };
        let p = Page::from_overfetch(vec![1, 2, 3], w, None);
        assert_eq!((p.items, p.has_more), (vec![1, 2], true));
        let p = Page::from_overfetch(vec![1, 2], w, None);
        assert_eq!((p.items, p.has_more), (vec![1, 2], false));
    }

    #[test]
    fn a_mapped_page_keeps_its_window_facts() {
        let page = Page {
            items: vec![1, 2],
            has_more: true,
            total: Some(7),
        };
        let mapped = page.clone().map(|n| n * 10);
        assert_eq!(
            mapped,
            Page {
                items: vec![10, 20],
                has_more: true,
                total: Some(7)
            }
        );
        let failed: Result<Page<i32>, &str> =
            page.try_map(|n| if n == 2 { Err("two") } else { Ok(n) });
        assert_eq!(failed, Err("two"));
    }
}
