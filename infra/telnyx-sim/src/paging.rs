//! Page-number pagination as Telnyx does it: `page[number]` (1-based) and `page[size]`,
//! per-endpoint defaults and maxima, and the `meta` block. Detail records clamp an
//! oversized page silently; every other list rejects it.

use serde_json::{Value, json};

use crate::error::ApiError;

/// How one endpoint pages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageRules {
    pub default_size: u64,
    pub max_size: u64,
    /// Over the maximum: clamp silently (detail records) instead of rejecting.
    pub clamp: bool,
}

pub(crate) const LIST: PageRules = PageRules {
    default_size: 20,
    max_size: 250,
    clamp: false,
};

pub(crate) const CONNECTIONS: PageRules = PageRules {
    default_size: 250,
    max_size: 250,
    clamp: false,
};

pub(crate) const DETAIL_RECORDS: PageRules = PageRules {
    default_size: 20,
    max_size: 50,
    clamp: true,
};

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub number: u64,
    pub size: u64,
}

impl Page {
    pub(crate) fn parse(query: &[(String, String)], rules: PageRules) -> Result<Page, ApiError> {
        let mut number = 1;
        let mut size = rules.default_size;
        for (k, v) in query {
            match k.as_str() {
                "page[number]" => {
                    number = v.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        ApiError::unprocessable("page[number] must be an integer >= 1")
                            .with_pointer("/page/number")
                    })?;
                }
                "page[size]" => {
                    let requested = v.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        ApiError::unprocessable("page[size] must be an integer >= 1")
                            .with_pointer("/page/size")
                    })?;
                    size = if requested <= rules.max_size {
                        requested
                    } else if rules.clamp {
                        rules.max_size
                    } else {
                        return Err(ApiError::unprocessable(format!(
                            "page[size] must be less than or equal to {}",
                            rules.max_size
                        ))
                        .with_pointer("/page/size"));
                    };
                }
                _ => {}
            }
        }
        Ok(Page { number, size })
    }

    pub(crate) fn offset(&self) -> u64 {
        (self.number - 1).saturating_mul(self.size)
    }

    pub(crate) fn meta(&self, total: u64) -> Value {
        json!({
            "page_number": self.number,
            "page_size": self.size,
            "total_pages": total.div_ceil(self.size),
            "total_results": total,
        })
    }

    /// The page of an in-memory list, with its meta, as a response body.
    pub(crate) fn body_of(&self, items: Vec<Value>) -> Value {
        let total = items.len() as u64;
        let data: Vec<Value> = items
            .into_iter()
            .skip(usize::try_from(self.offset()).unwrap_or(usize::MAX))
            .take(usize::try_from(self.size).unwrap_or(usize::MAX))
            .collect();
        json!({ "data": data, "meta": self.meta(total) })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn detail_record_page_size_above_50_is_clamped() {
        let page = Page::parse(&q(&[("page[size]", "250")]), DETAIL_RECORDS).unwrap();
        assert_eq!(page.size, 50);
    }

    #[test]
    fn list_page_size_above_250_is_rejected_with_a_numeric_code() {
        let err = Page::parse(&q(&[("page[size]", "251")]), LIST).unwrap_err();
        assert_eq!(err.status.as_u16(), 422);
        assert!(err.code.is_number());
    }

    #[test]
    fn connections_default_to_pages_of_250() {
        assert_eq!(Page::parse(&[], CONNECTIONS).unwrap().size, 250);
        assert_eq!(Page::parse(&[], LIST).unwrap().size, 20);
    }

    #[test]
    fn a_page_past_the_end_is_empty_with_meta() {
        let page = Page { number: 3, size: 2 };
        let body = page.body_of(vec![json!(1), json!(2), json!(3)]);
        assert_eq!(body["data"], json!([]));
        assert_eq!(body["meta"]["total_pages"], 2);
        assert_eq!(body["meta"]["total_results"], 3);
    }
}
