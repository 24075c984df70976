//! The router: a matchit tree from path to route, and per route the
//! function serving each method (a path is matched once per request); and
//! the route table `GET /` and `runtime routes` show.

use contract::request::Params;
use contract::{Function, Method, RouteInfo};

use crate::config::Settings;

/// Why the route table could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("path `{path}` of function `{function}` is not a valid route: {source}")]
    Path {
        function: &'static str,
        path: &'static str,
        source: matchit::InsertError,
    },
    #[error("functions `{first}` and `{second}` both serve {method} {path}")]
    Duplicate {
        first: &'static str,
        second: &'static str,
        method: &'static str,
        path: &'static str,
    },
}

struct Route {
    /// Parameter names in the order matchit reports their values.
    param_names: Vec<&'static str>,
    /// (method, index of the function in the table the router was built from)
    methods: Vec<(Method, usize)>,
    /// The `Allow` header for a 405.
    allow: String,
}

/// The `Allow` value for `methods`: HEAD follows GET, since it is served
/// wherever GET is.
pub fn allow_header(methods: impl Iterator<Item = Method>) -> String {
    let mut names = Vec::new();
    for method in methods {
        names.push(method.as_str());
        if method == Method::Get {
            names.push("HEAD");
        }
    }
    names.join(", ")
}

/// A function of the table the router was built from: its position there,
/// which is also the position of its running instance in the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionId(usize);

impl FunctionId {
    pub fn index(self) -> usize {
        self.0
    }
}

/// Every (function, method, path) of `registry`, with the limits `settings`
/// give each; HEAD beside each GET.
pub fn route_table(registry: &[Function], settings: &Settings) -> Vec<RouteInfo> {
    let mut routes = Vec::new();
    for function in registry {
        let limits = settings.limits_for(function.name, function.limits);
        let methods = allow_header(function.methods.iter().copied());
        for method in methods.split(", ") {
            routes.push(RouteInfo {
                function: function.name.into(),
                method: method.into(),
                path: function.path.into(),
                timeout_ms: limits.timeout.as_millis() as u64,
                concurrency: limits.concurrency,
                db_connections: limits.db_connections,
            });
        }
    }
    routes
}

/// The outcome of matching one request.
pub enum Match<'a> {
    /// The function, the method it serves the request as (GET for HEAD),
    /// and the path parameters.
    Found {
        function: FunctionId,
        method: Method,
        params: Params,
    },
    MethodNotAllowed {
        allow: &'a str,
    },
    NotFound,
}

pub struct Router {
    tree: matchit::Router<usize>,
    routes: Vec<Route>,
}

impl Router {
    /// Builds the table for `functions`; a match names a function by its
    /// index in that slice.
    pub fn new(functions: &[Function]) -> Result<Router, RouterError> {
        let mut tree = matchit::Router::new();
        let mut routes: Vec<Route> = Vec::new();
        let mut paths: Vec<&'static str> = Vec::new();
        for (index, function) in functions.iter().enumerate() {
            let route = match paths.iter().position(|path| *path == function.path) {
                Some(existing) => existing,
                None => {
                    tree.insert(function.path, routes.len()).map_err(|source| {
                        RouterError::Path {
                            function: function.name,
                            path: function.path,
                            source,
                        }
                    })?;
                    paths.push(function.path);
                    routes.push(Route {
                        param_names: param_names(function.path),
                        methods: Vec::new(),
                        allow: String::new(),
                    });
                    routes.len() - 1
                }
            };
            for method in function.methods {
                if let Some((_, other)) = routes[route].methods.iter().find(|(m, _)| m == method) {
                    return Err(RouterError::Duplicate {
                        first: functions[*other].name,
                        second: function.name,
                        method: method.as_str(),
                        path: function.path,
                    });
                }
                routes[route].methods.push((*method, index));
            }
        }
        for route in &mut routes {
            route.methods.sort_by_key(|(method, _)| *method);
            route.allow = allow_header(route.methods.iter().map(|(method, _)| *method));
        }
        Ok(Router { tree, routes })
    }

    /// The function for `method` on `path`, with the path parameters.
    pub fn find(&self, method: &http::Method, path: &str) -> Match<'_> {
        let Ok(matched) = self.tree.at(path) else {
            return Match::NotFound;
        };
        let route = &self.routes[*matched.value];
        // HEAD is GET without the body (hyper leaves the body out).
        let method = if method == http::Method::HEAD {
            Some(Method::Get)
        } else {
            Method::from_http(method)
        };
        let function = method.and_then(|method| route.methods.iter().find(|(m, _)| *m == method));
        let Some(&(method, function)) = function else {
            return Match::MethodNotAllowed {
                allow: &route.allow,
            };
        };
        let base = path.as_ptr() as usize;
        let params = route
            .param_names
            .iter()
            .zip(matched.params.iter())
            .map(|(name, (_, value))| {
                // matchit hands out slices of `path`: keep their offsets.
                let start = value.as_ptr() as usize - base;
                (*name, start..start + value.len())
            })
            .collect();
        Match::Found {
            function: FunctionId(function),
            method,
            params,
        }
    }
}

/// `{id}` names in a template, in order.
fn param_names(template: &'static str) -> Vec<&'static str> {
    template
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| name.trim_start_matches('*'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::{Limits, Outcome, Reply, Request};

    async fn ok(_: Request) -> Outcome {
        Ok(Reply::no_content())
    }

    fn function(name: &'static str, methods: &'static [Method], path: &'static str) -> Function {
        Function {
            name,
            methods,
            path,
            limits: Limits::DEFAULT,
            handler: |req| Box::pin(ok(req)),
        }
    }

    fn router() -> Router {
        Router::new(&[
            function("users-get", &[Method::Get], "/api/users/{id}"),
            function(
                "users-update",
                &[Method::Put, Method::Patch],
                "/api/users/{id}",
            ),
            function("users-orders", &[Method::Get], "/api/users/{id}/orders"),
            function("users-list", &[Method::Get], "/api/users"),
        ])
        .unwrap()
    }

    #[test]
    fn finds_the_function_and_its_parameters() {
        let router = router();
        let path = "/api/users/42/orders";
        match router.find(&http::Method::GET, path) {
            Match::Found {
                function, params, ..
            } => {
                assert_eq!(function, FunctionId(2));
                assert_eq!(params[0].0, "id");
                assert_eq!(&path[params[0].1.clone()], "42");
            }
            _ => panic!("no match"),
        }
        assert!(matches!(
            router.find(&http::Method::PATCH, "/api/users/1"),
            Match::Found {
                function: FunctionId(1),
                method: Method::Patch,
                ..
            }
        ));
    }

    #[test]
    fn wrong_method_lists_the_right_ones() {
        match router().find(&http::Method::DELETE, "/api/users/1") {
            Match::MethodNotAllowed { allow } => assert_eq!(allow, "GET, HEAD, PUT, PATCH"),
            _ => panic!("expected 405"),
        }
        assert!(matches!(
            router().find(&http::Method::HEAD, "/api/users"),
            Match::Found {
                function: FunctionId(3),
                method: Method::Get,
                ..
            }
        ));
        assert!(matches!(
            router().find(&http::Method::OPTIONS, "/api/users"),
            Match::MethodNotAllowed { .. }
        ));
    }

    #[test]
    fn unknown_paths_are_not_found() {
        assert!(matches!(
            router().find(&http::Method::GET, "/api/nope"),
            Match::NotFound
        ));
        assert!(matches!(
            router().find(&http::Method::GET, "/api/users/1/2"),
            Match::NotFound
        ));
    }

    #[test]
    fn two_functions_on_one_method_and_path_is_an_error() {
        let error = Router::new(&[
            function("a", &[Method::Get], "/x"),
            function("b", &[Method::Get], "/x"),
        ])
        .err()
        .unwrap();
        assert!(error.to_string().contains("`a` and `b`"), "{error}");
    }
}
