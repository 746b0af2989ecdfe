//! Every route's name, from one table: the operation id of each method and
//! path template, as the API's own description states it (poem-openapi's,
//! from which the served document is written), and the two routes served
//! beside the operations, named in the same style. The HTTP metrics label
//! answers with these names, the rate limits find the operations with
//! budgets of their own by them, and the document and Swagger UI are
//! mounted at the paths given here. What no route answered (404, 405) is
//! [`UNMATCHED`].
//!
//! The table is built once per process, and nothing looks it up by path per
//! request: poem's router has found the operation by then (poem-openapi
//! names it on the answer), and only refusals made before routing look the
//! path up (see `contract`).

use std::collections::HashMap;
use std::sync::OnceLock;

use poem::http::Method;
use poem_openapi::OpenApi;

/// The `route` of an answer no route gave: an unknown path, or a known
/// path with a method it does not have.
pub const UNMATCHED: &str = "unmatched";

/// A route served beside the OpenAPI service, so not in the document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Beside {
    pub(crate) id: &'static str,
    pub(crate) path: &'static str,
    /// Whether the route is the path and everything under it.
    pub(crate) nested: bool,
}

/// The OpenAPI document.
pub(crate) const OPENAPI: Beside = Beside {
    id: "openapi",
    path: "/openapi.json",
    nested: false,
};

/// Swagger UI and its assets.
pub(crate) const DOCS: Beside = Beside {
    id: "docs",
    path: "/docs",
    nested: true,
};

/// The names of the routes outside the document, for the checks that every
/// `route` label is a name of this table.
pub const BESIDE_THE_DOCUMENT: [&str; 2] = [OPENAPI.id, DOCS.id];

/// One route: its name, method and path template (`/v1/resources/{id}`).
#[derive(Debug)]
pub(crate) struct NamedRoute {
    pub(crate) id: &'static str,
    pub(crate) method: Method,
    pub(crate) path: String,
    /// The statuses the operation declares of its own (the refusals every
    /// operation may answer are added to the document later).
    pub(crate) statuses: Vec<u16>,
}

/// The table: routes in a fixed order, and each one's position by name.
#[derive(Debug)]
pub(crate) struct RouteNames {
    routes: Vec<NamedRoute>,
    by_id: HashMap<&'static str, usize, foldhash::fast::RandomState>,
}

/// The table of this build's routes.
pub(crate) fn table() -> &'static RouteNames {
    static TABLE: OnceLock<RouteNames> = OnceLock::new();
    TABLE.get_or_init(|| {
        let operations = <crate::Apis as OpenApi>::meta()
            .into_iter()
            .flat_map(|api| api.paths)
            .flat_map(|path| {
                path.operations
                    .into_iter()
                    .map(move |operation| NamedRoute {
                        id: operation
                            .operation_id
                            .unwrap_or_else(|| panic!("{} has no operation id", path.path)),
                        method: operation.method,
                        path: path.path.clone(),
                        statuses: (operation.responses.responses.iter())
                            .filter_map(|response| response.status)
                            .collect(),
                    })
            });
        let beside = [OPENAPI, DOCS].into_iter().map(|route| NamedRoute {
            id: route.id,
            method: Method::GET,
            path: route.path.to_owned(),
            statuses: vec![200],
        });
        RouteNames::new(operations.chain(beside).collect())
    })
}

impl RouteNames {
    fn new(routes: Vec<NamedRoute>) -> Self {
        let mut by_id = HashMap::with_capacity_and_hasher(routes.len(), Default::default());
        for (index, route) in routes.iter().enumerate() {
            assert_ne!(route.id, UNMATCHED, "{} is named like no route", route.path);
            let earlier = by_id.insert(route.id, index);
            assert!(earlier.is_none(), "two routes are named {}", route.id);
        }
        Self { routes, by_id }
    }

    /// Every route, in the table's order.
    pub(crate) fn routes(&self) -> &[NamedRoute] {
        &self.routes
    }

    /// Where the route named `id` is in [`Self::routes`].
    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The route named `id`.
    pub(crate) fn get(&self, id: &str) -> Option<&NamedRoute> {
        self.position(id).map(|index| &self.routes[index])
    }

    /// The path of the route named `id` for one thing: its template's one
    /// parameter filled in with `value`. What a command created is named by
    /// the operation that reads it (`Location`, `existing`).
    pub(crate) fn path_to(&self, id: &str, value: impl std::fmt::Display) -> String {
        let route = self
            .get(id)
            .unwrap_or_else(|| panic!("no route is named {id}"));
        let (before, rest) = (route.path.split_once('{'))
            .unwrap_or_else(|| panic!("{id}'s path {} has no parameter", route.path));
        let after = rest.split_once('}').map_or("", |(_, after)| after);
        format!("{before}{value}{after}")
    }

    /// The route named `id`, whose path must be a literal one (no
    /// `{parameter}`): for code that matches the path as it comes.
    pub(crate) fn literal(&self, id: &str) -> &NamedRoute {
        let route = self
            .get(id)
            .unwrap_or_else(|| panic!("no route is named {id}"));
        assert!(
            !route.path.contains('{'),
            "{id}'s path {} has parameters",
            route.path
        );
        route
    }
}

/// The route beside the document that serves `path`, if any.
pub(crate) fn beside_the_document(path: &str) -> Option<&'static str> {
    [OPENAPI, DOCS]
        .into_iter()
        .find(|route| match path.strip_prefix(route.path) {
            Some("") => true,
            Some(rest) => route.nested && rest.starts_with('/'),
            None => false,
        })
        .map(|route| route.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_and_the_routes_beside_them_have_one_name_each() {
        let table = table();
        let login = table.literal("login");
        assert_eq!(
            (&login.method, login.path.as_str()),
            (&Method::POST, "/v1/sessions")
        );
        let resource = table.get("getResource").unwrap();
        assert_eq!(resource.path, "/v1/resources/{id}");
        // A conditional read may answer 304; a login never does.
        assert!(resource.statuses.contains(&304), "{resource:?}");
        assert!(login.statuses.iter().all(|s| s / 100 != 3), "{login:?}");
        assert_eq!(table.get(OPENAPI.id).unwrap().path, "/openapi.json");
        // Method and path name one route.
        let mut seen = std::collections::HashSet::new();
        for route in table.routes() {
            assert!(
                seen.insert((route.method.clone(), route.path.as_str())),
                "{route:?}"
            );
            assert_eq!(table.get(route.id).map(|r| r.id), Some(route.id));
        }
        assert!(table.get(UNMATCHED).is_none());
    }

    #[test]
    fn what_a_command_made_is_named_by_the_path_that_reads_it() {
        let table = table();
        assert_eq!(table.path_to("getResource", 7), "/v1/resources/7");
        assert_eq!(table.path_to("getUser", "ada"), "/v1/users/ada");
    }

    #[test]
    fn the_routes_beside_the_document_are_found_by_path() {
        assert_eq!(beside_the_document("/openapi.json"), Some("openapi"));
        assert_eq!(beside_the_document("/openapi.json/x"), None);
        assert_eq!(beside_the_document("/docs"), Some("docs"));
        assert_eq!(beside_the_document("/docs/index.css"), Some("docs"));
        assert_eq!(beside_the_document("/docsx"), None);
        assert_eq!(beside_the_document("/v1/resources"), None);
    }

    #[test]
    #[should_panic(expected = "has parameters")]
    fn a_route_matched_literally_has_no_parameters() {
        table().literal("getResource");
    }
}
