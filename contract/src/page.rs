//! Pagination by id: `?limit=`, `?after=<id>` (keyset: the items whose id
//! is greater), and `?offset=` (kept for old clients; the database walks
//! every skipped row, so a deep offset costs what the table does). The
//! `Link: <…>; rel="next"` header always carries `after=`, with the same
//! filters and limit, so a client that follows it never pays for depth.

use http::header::LINK;
use http::HeaderValue;

use crate::db::ReadCost;
use crate::json::{self, WriteJson};
use crate::{Outcome, Problem, Reply, Request};

/// A page of a list, read from the query string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    /// Items with an id greater than this (0: from the start).
    pub after: i64,
    pub offset: i64,
}

/// An item of a list page: what `after=` compares.
pub trait Keyed {
    fn key(&self) -> i64;
}

impl Page {
    pub const DEFAULT_LIMIT: i64 = 50;
    pub const MAX_LIMIT: i64 = 1000;

    /// `limit` 1..=1000 (default 50), `after` ≥ 0 and `offset` ≥ 0 (both
    /// default 0); else 400 naming the parameter.
    pub fn from_request(req: &Request) -> Result<Page, Problem> {
        Self::from_query(req.query_string().unwrap_or_default())
    }

    pub fn from_query(query: &str) -> Result<Page, Problem> {
        crate::query::reject_repeated(query)?;
        let mut page = Page {
            limit: Self::DEFAULT_LIMIT,
            after: 0,
            offset: 0,
        };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "limit" => match digits(&value) {
                    Ok(limit) if (1..=Self::MAX_LIMIT).contains(&limit) => page.limit = limit,
                    _ => {
                        return Err(crate::query::invalid(
                            "limit",
                            &format!("must be an integer from 1 to {}", Self::MAX_LIMIT),
                        ))
                    }
                },
                "after" => match digits(&value) {
                    Ok(after) if after >= 0 => page.after = after,
                    _ => {
                        return Err(crate::query::invalid(
                            "after",
                            "must be the id of the last item seen, an integer of at least 0",
                        ))
                    }
                },
                "offset" => match digits(&value) {
                    Ok(offset) if offset >= 0 => page.offset = offset,
                    _ => {
                        return Err(crate::query::invalid(
                            "offset",
                            "must be a non-negative integer",
                        ))
                    }
                },
                _ => {}
            }
        }
        Ok(page)
    }

    /// What reading the page costs: with an `offset` it grows with what the
    /// client asked (the database reads every row it skips), so it runs on
    /// a connection of its own, never one shared with other reads.
    pub fn cost(&self) -> ReadCost {
        match self.offset {
            0 => ReadCost::Bounded,
            _ => ReadCost::ByInput,
        }
    }

    /// How many rows to fetch: one more than the page, to learn whether
    /// another page follows without counting.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// The JSON array reply for rows fetched with [`Page::fetch_limit`], with
    /// a `Link` to the next page when there is one.
    pub fn reply<T: WriteJson + Keyed>(&self, req: &Request, mut rows: Vec<T>) -> Outcome {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let reply = Reply::json_bytes(json::array(&rows));
        let last = rows.last().map(Keyed::key);
        match (more, last) {
            (true, Some(last)) => {
                match self.next_link(req.path(), req.query_string().unwrap_or_default(), last) {
                    Some(link) => Ok(reply.with_header(LINK, link)),
                    None => Ok(reply),
                }
            }
            _ => Ok(reply),
        }
    }

    /// `<path?…&limit=L&after=LAST>; rel="next"`, keeping the filters and
    /// dropping `offset`: the next page starts after the last item sent.
    fn next_link(&self, path: &str, query: &str, last: i64) -> Option<HeaderValue> {
        let mut next = form_urlencoded::Serializer::new(String::new());
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if key != "limit" && key != "offset" && key != "after" {
                next.append_pair(&key, &value);
            }
        }
        next.append_pair("limit", &self.limit.to_string());
        next.append_pair("after", &last.to_string());
        HeaderValue::try_from(format!("<{path}?{}>; rel=\"next\"", next.finish())).ok()
    }
}

/// A paging number as plain decimal digits: `+5`, ` 5` and `5.0` are
/// refused alike, whether the client wrote `+` or `%2B`.
fn digits(value: &str) -> Result<i64, ()> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    value.parse().map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            Page::from_query("").unwrap(),
            Page {
                limit: 50,
                after: 0,
                offset: 0
            }
        );
        assert_eq!(
            Page::from_query("limit=1000&offset=7&after=12").unwrap(),
            Page {
                limit: 1000,
                after: 12,
                offset: 7
            }
        );
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=abc",
            "offset=-1",
            "after=-1",
            "after=x",
            "limit=99999999999999999999",
            "limit=%2B5",
            "limit=+5",
            "offset=%2B1",
            "after=%205",
        ] {
            assert_eq!(
                Page::from_query(bad).unwrap_err().status.as_u16(),
                400,
                "{bad}"
            );
        }
    }

    #[test]
    fn next_link_keeps_filters() {
        let page = Page {
            limit: 2,
            after: 0,
            offset: 4,
        };
        let link = page
            .next_link("/api/products", "q=lap%20top&limit=2&offset=4", 17)
            .unwrap();
        assert_eq!(
            link.to_str().unwrap(),
            "</api/products?q=lap+top&limit=2&after=17>; rel=\"next\""
        );
    }
}
