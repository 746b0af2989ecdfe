//! The completed document and the checks it drives, without a server.

use poem::http::Method;
use resourcify_domain::is_text_char;
use serde_json::json;

use super::{Contract, Lookup, document};

/// A document as poem-openapi writes it, reduced to what matters here.
fn generated() -> serde_json::Value {
    json!({
        "openapi": "3.0.0",
        "paths": {
            "/v1/things/{id}": {
                "patch": {
                    "parameters": [
                        {"name": "id", "in": "path", "schema": {"type": "string"}},
                        {"name": "tag", "in": "query", "required": true,
                         "schema": {"type": "array", "items": {"type": "string"}}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "format": "uint32"}}
                    ],
                    "requestBody": {"content": {"application/json; charset=utf-8": {
                        "schema": {"$ref": "#/components/schemas/ThingPatch"}}}}
                },
                "get": {}
            }
        },
        "components": {"schemas": {"ThingPatch": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "maxLength": 5},
                "description": {"type": "string"},
                "labels": {"type": "array", "items": {"type": "string"}},
                "title": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "id": {"type": "string", "format": "uuid"}
            }
        }}}
    })
}

#[test]
fn the_document_states_the_text_rule_closed_bodies_and_repeatable_lists() {
    let done = document::complete(generated());
    let patch = &done["components"]["schemas"]["ThingPatch"];
    assert_eq!(patch["additionalProperties"], false);
    assert_eq!(
        patch["properties"]["name"]["pattern"],
        resourcify_domain::SINGLE_LINE_PATTERN
    );
    assert_eq!(
        patch["properties"]["description"]["pattern"],
        resourcify_domain::MULTI_LINE_PATTERN
    );
    assert_eq!(
        patch["properties"]["labels"]["items"]["pattern"],
        resourcify_domain::SINGLE_LINE_PATTERN
    );
    // A resource's fields, wherever they appear, get the domain's rules.
    use resourcify_domain::resource::{TAG_PATTERN, TITLE_CHARS};
    assert_eq!(
        patch["properties"]["title"]["maxLength"],
        *TITLE_CHARS.end()
    );
    assert_eq!(patch["properties"]["tags"]["items"]["pattern"], TAG_PATTERN);
    assert_eq!(patch["properties"]["tags"]["maxItems"], 5);
    assert!(patch["properties"]["id"].get("pattern").is_none());
    let parameters = &done["paths"]["/v1/things/{id}"]["patch"]["parameters"];
    assert_eq!(parameters[1]["required"], false);
    assert_eq!(parameters[1]["explode"], true);
    assert_eq!(parameters[2]["schema"]["minimum"], 0);
    assert_eq!(parameters[2]["schema"]["maximum"], u32::MAX);
}

#[test]
fn the_patterns_refuse_exactly_what_the_domain_refuses() {
    for (pattern, multiline) in [
        (resourcify_domain::SINGLE_LINE_PATTERN, false),
        (resourcify_domain::MULTI_LINE_PATTERN, true),
    ] {
        let schema = json!({"type": "string", "pattern": pattern});
        let validator = jsonschema::validator_for(&schema).unwrap();
        let interesting = (0u32..0x250).chain([0x2028, 0xFEFF, 0xFFFD, 0xFFFE, 0xFFFF, 0x1F600]);
        for c in interesting.filter_map(char::from_u32) {
            let text = format!("a{c}b");
            assert_eq!(
                validator.is_valid(&json!(text)),
                is_text_char(c, multiline),
                "U+{:04X}, multiline {multiline}",
                c as u32
            );
        }
    }
}

#[test]
fn paths_are_matched_by_template_and_other_methods_are_named() {
    let contract = Contract::new(&generated().to_string());
    assert!(matches!(
        contract.lookup(&Method::PATCH, "/v1/things/42"),
        Lookup::Found(_)
    ));
    match contract.lookup(&Method::DELETE, "/v1/things/42") {
        Lookup::OtherMethods(mut allowed) => {
            allowed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            assert_eq!(allowed, [Method::GET, Method::PATCH]);
        }
        _ => panic!("the path exists with other methods"),
    }
    assert!(matches!(
        contract.lookup(&Method::GET, "/v1/things/42/more"),
        Lookup::Unknown
    ));
    assert!(matches!(
        contract.lookup(&Method::GET, "/v1/things/"),
        Lookup::Unknown
    ));
    // Where the router took an empty segment for a parameter, the
    // operation is found, so that the parameter is refused by name.
    assert!(matches!(
        contract.lookup_routed(&Method::GET, "/v1/things/"),
        Lookup::Found(_)
    ));
}

#[test]
fn body_problems_point_at_fields_and_never_echo_values() {
    let contract = Contract::new(&generated().to_string());
    let Lookup::Found(operation) = contract.lookup(&Method::PATCH, "/v1/things/1") else {
        panic!("found");
    };
    let schema = operation.body.as_ref().unwrap();
    let body = json!({"name": "secret-and-long", "labels": ["ok", 7], "colour": "red"});
    let mut problems: Vec<_> = schema
        .validator
        .iter_errors(&body)
        .map(|e| super::field_problem(&e))
        .collect();
    problems.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    let seen: Vec<(Option<&str>, &str)> = problems
        .iter()
        .map(|p| (p.pointer.as_deref(), p.message.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (Some("/colour"), "is not a field of this request"),
            (Some("/labels/1"), "must be of type string"),
            (Some("/name"), "must be at most 5 characters"),
        ]
    );
    let missing: Vec<_> = schema
        .validator
        .iter_errors(&json!({}))
        .map(|e| super::field_problem(&e))
        .collect();
    assert_eq!(missing[0].pointer.as_deref(), Some("/name"));
    assert_eq!(missing[0].message, "is required");
}

#[test]
fn link_fields_carry_the_url_rule_which_admits_what_the_domain_parses() {
    use resourcify_domain::resource::{ResourceUrl, URL_PATTERN};
    let mut generated = generated();
    generated["components"]["schemas"]["ThingPatch"]["properties"]["url"] =
        json!({"type": "string"});
    generated["components"]["schemas"]["ThingPatch"]["properties"]["website"] =
        json!({"type": "string"});
    let done = document::complete(generated);
    let properties = &done["components"]["schemas"]["ThingPatch"]["properties"];
    assert_eq!(properties["url"]["pattern"], URL_PATTERN);
    let website = jsonschema::validator_for(&properties["website"]).unwrap();
    assert!(website.is_valid(&json!("")), "empty clears a website");

    let url =
        jsonschema::validator_for(&json!({"type": "string", "pattern": URL_PATTERN})).unwrap();
    holds_to_the_parser(
        &url,
        |text| ResourceUrl::parse(text).is_ok(),
        &[
            "https://example.org",
            "HTTPS://EXAMPLE.org:443/guide?id=7#intro",
            "http://localhost:8080/a/b?c=d",
        ],
        &[
            "ftp://example.org",
            "https://",
            "https://a b",
            "example.org",
            "https://a/\u{0}",
        ],
    );
}

/// `rule` admits and `parses` accepts each of `fine`; `rule` refuses each
/// of `refused`.
fn holds_to_the_parser(
    rule: &jsonschema::Validator,
    parses: impl Fn(&str) -> bool,
    fine: &[&str],
    refused: &[&str],
) {
    for text in fine {
        assert!(rule.is_valid(&json!(text)), "{text:?} is admitted");
        assert!(parses(text), "{text:?} parses");
    }
    for text in refused {
        assert!(!rule.is_valid(&json!(text)), "{text:?} is refused");
    }
}

#[test]
fn cursors_and_email_addresses_carry_their_rules() {
    use resourcify_domain::user::EMAIL_PATTERN;
    let mut generated = generated();
    generated["components"]["schemas"]["ThingPatch"]["properties"]["email"] =
        json!({"type": "string"});
    let done = document::complete(generated);
    let email = &done["components"]["schemas"]["ThingPatch"]["properties"]["email"];
    assert_eq!(email["pattern"], EMAIL_PATTERN);
    let cursor = &done["components"]["parameters"]["Cursor"]["schema"];
    assert_eq!(cursor["pattern"], resourcify_app::CURSOR_PATTERN);

    // Every cursor a list hands out is in the alphabet; the empty one is not.
    let cursor = jsonschema::validator_for(cursor).unwrap();
    for issued in [
        resourcify_app::Cursor::Before(42),
        resourcify_app::Cursor::Scored {
            score: -0.5,
            listed_at: 7,
        },
        resourcify_app::Cursor::Tag {
            count: 3,
            tag: "c++".into(),
        },
        resourcify_app::Cursor::Path("0001.0002".into()),
    ] {
        assert!(cursor.is_valid(&json!(issued.encode())), "{issued:?}");
    }
    assert!(!cursor.is_valid(&json!("")));
}

/// Strings from `alphabet`, 0 to `longest` characters, the same ones every run.
fn strings(alphabet: &[char], longest: u64, count: usize) -> Vec<String> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift64: enough to spread lengths and characters.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let len = (next() % (longest + 1)) as usize;
            (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect()
        })
        .collect()
}

/// What a generated client or a fuzzer sends after reading the document is
/// what the server takes: every address the rule (and its length) admits,
/// the domain parses, and what it refuses, the server refuses before the
/// domain sees it. A few are known to pass and to fail.
#[test]
fn the_email_rule_admits_only_what_the_domain_parses() {
    use resourcify_domain::user::{EMAIL_MAX_CHARS, EMAIL_PATTERN, Email};
    let schema = json!({"type": "string", "maxLength": EMAIL_MAX_CHARS, "pattern": EMAIL_PATTERN});
    let rule = jsonschema::validator_for(&schema).unwrap();
    holds_to_the_parser(
        &rule,
        |text| Email::parse(text).is_ok(),
        &[
            "ada@example.org",
            " A.B+c@Mail.Example.ORG  ",
            "ö@bücher.de",
            "a@b..c",
        ],
        &[
            "0000",
            "a@b",
            "a@.org",
            "a@org.",
            "a@b@c.org",
            "a b@c.org",
            "@c.org",
            "a@b.c\u{1}",
            "\tada@example.org",
        ],
    );
    let alphabet: Vec<char> = "aZx0_-.@+ ö\u{feff}\u{1}\u{85}".chars().collect();
    // Random text, and random text in the shape of an address.
    let shaped = strings(&alphabet, 6, 30_000)
        .chunks(3)
        .map(|parts| format!("{}@{}.{}", parts[0], parts[1], parts[2]))
        .collect::<Vec<_>>();
    let mut admitted = 0;
    for text in strings(&alphabet, 40, 30_000).into_iter().chain(shaped) {
        if rule.is_valid(&json!(text)) {
            admitted += 1;
            assert!(
                Email::parse(&text).is_ok(),
                "{text:?} is admitted but does not parse"
            );
        }
    }
    assert!(admitted > 100, "the alphabet reaches the rule: {admitted}");
}

#[test]
fn percent_decoding_reads_every_escape_of_a_path_or_a_query() {
    use super::percent_decode;
    assert_eq!(
        percent_decode(b"limit=5&q=rust%00book"),
        "limit=5&q=rust\0book"
    );
    assert_eq!(percent_decode(b"%00=1"), "\0=1");
    assert_eq!(
        percent_decode(b"/v1/tags/c++/a&b%01"),
        "/v1/tags/c++/a&b\u{1}"
    );
    assert_eq!(percent_decode(b"%e2%82%AC %zz %4"), "\u{20ac} %zz %4");
    assert_eq!(percent_decode(b"%ff"), "\u{fffd}");
}
