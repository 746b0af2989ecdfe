"""A member's day with Resourcify, through a generated client.

Usage: python client_scenario.py BASE_URL CLIENT_PARENT_DIR

CLIENT_PARENT_DIR holds the package `resourcify_client`, generated from the
server's own /openapi.json by openapi-python-client and used unmodified, as an
outside developer would use it. The scenario registers two fresh users and
walks the documented API (README: "A tour with curl", "The API so far",
"Conventions"): sign-up and log-in with read-your-writes positions, an
idempotent submission and its retry, reading back, keyset paging by tag,
search, the front page, a comment thread with a reply, an upvote, a bookmark,
follows and the personal feed, the news list, and the resumable SSE stream.

What it proves: every operation used here can be called through the
generated functions with the parameters the server documents, and every
answer parses into the generated models with the values the server promises
(status codes, bodies and headers). Each step asserts behaviour, not just a
2xx. Reads that must see a write pass the write's `position` back (as the
`X-Resourcify-Min-Position` header or the `min_position` query parameter), so
the script never sleeps.

The only hand-written HTTP is the stream (step 12): a generated client reads
whole bodies, and an SSE stream never ends, so it is read with httpx
streaming and a hard deadline.

Exit status 0 only if every step passed; otherwise the failing step, the last
HTTP exchange (status and body) and the error are printed, and it exits 1.
"""

from __future__ import annotations

import json
import secrets
import string
import sys
import time
import traceback
from typing import Any, Callable
from uuid import UUID

import httpx

BASE_URL = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else ""
CLIENT_PARENT_DIR = sys.argv[2] if len(sys.argv) > 2 else ""
if not BASE_URL or not CLIENT_PARENT_DIR:
    sys.exit(__doc__.split("\n\n")[1])
sys.path.insert(0, CLIENT_PARENT_DIR)

from resourcify_client import AuthenticatedClient, Client  # noqa: E402
from resourcify_client.api.comments import get_comment, list_comments, post_comment  # noqa: E402
from resourcify_client.api.discovery import feed, search  # noqa: E402
from resourcify_client.api.me import (  # noqa: E402
    follow_tag,
    follow_user,
    get_me,
    list_bookmarks,
    personal_feed,
)
from resourcify_client.api.news import list_news  # noqa: E402
from resourcify_client.api.resources import (  # noqa: E402
    bookmark,
    get_resource,
    list_resources,
    submit_resource,
    upvote,
)
from resourcify_client.api.users import login, register  # noqa: E402
from resourcify_client.models import (  # noqa: E402
    Account,
    CommandResult,
    Comment,
    CommentList,
    LoginRequest,
    NewComment,
    NewResource,
    NewUser,
    Problem,
    RegisteredUser,
    Resource,
    ResourceKind,
    ResourceList,
    SessionTokens,
    StreamMessage,
)
from resourcify_client.types import UNSET, Response, Unset  # noqa: E402

PASSWORD = "correct horse battery"
TIMEOUT = httpx.Timeout(20.0)
STREAM_DEADLINE_SECS = 20.0
MAX_PAGES = 50


# ---------------------------------------------------------------- failures


class StepFailed(Exception):
    """An assertion about the API's behaviour did not hold."""


# The last HTTP exchange of any generated client, kept by an httpx event hook
# so that a failure (even one raised while the generated code parses the
# answer) can show what the server said.
_last_exchange: list[httpx.Response] = []


def _remember(response: httpx.Response) -> None:
    _last_exchange[:] = [response]


def check(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


def describe_last_exchange() -> str:
    if not _last_exchange:
        return "(no HTTP exchange yet)"
    r = _last_exchange[0]
    try:
        body = r.read().decode("utf-8", "replace")
    except Exception as e:  # a streamed body already consumed, a closed connection
        body = f"(body unavailable: {e!r})"
    if len(body) > 2000:
        body = body[:2000] + "…"
    return f"{r.request.method} {r.request.url} -> {r.status_code}\n{body}"


# ---------------------------------------------------------------- helpers


def unique_word(n: int = 12) -> str:
    """Lower-case letters only, so full-text search sees one plain word."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(n))


def anonymous() -> Client:
    return Client(
        base_url=BASE_URL,
        timeout=TIMEOUT,
        raise_on_unexpected_status=True,
        httpx_args={"event_hooks": {"response": [_remember]}},
    )


def authenticated(token: str) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=BASE_URL,
        token=token,
        timeout=TIMEOUT,
        raise_on_unexpected_status=True,
        httpx_args={"event_hooks": {"response": [_remember]}},
    )


def expect(response: Response[Any], status: int, model: type) -> Any:
    """Assert the status code and that the body parsed into `model`."""
    if response.status_code != status:
        detail = ""
        if isinstance(response.parsed, Problem):
            p = response.parsed
            detail = f": {p.type_} {p.title}: {p.detail}"
        raise StepFailed(f"expected {status}, got {int(response.status_code)}{detail}")
    check(
        isinstance(response.parsed, model),
        f"expected a {model.__name__}, parsed {type(response.parsed).__name__}",
    )
    return response.parsed


def expect_written(response: Response[Any], status: int = 200) -> CommandResult:
    """A command's answer: `{id, position}`, with the position also in a header."""
    result = expect(response, status, CommandResult)
    header = response.headers.get("x-resourcify-position")
    check(
        header == str(result.position),
        f"X-Resourcify-Position header {header!r} != body position {result.position}",
    )
    return result


def ids(items: list[Resource]) -> list[UUID]:
    return [item.id for item in items]


def find_in_pages(fetch_page: Callable[[Any], Response[Any]], wanted: UUID) -> Resource | None:
    """Follow `next_cursor` through a list until `wanted` shows up."""
    cursor: Any = UNSET
    for _ in range(MAX_PAGES):
        page = expect(fetch_page(cursor), 200, ResourceList)
        for item in page.items:
            if item.id == wanted:
                return item
        if isinstance(page.next_cursor, Unset) or not page.next_cursor:
            return None
        cursor = page.next_cursor
    raise StepFailed(f"no end after {MAX_PAGES} pages")


class User:
    def __init__(self, username: str) -> None:
        self.username = username
        self.user_id: UUID | None = None
        self.client: AuthenticatedClient | None = None


# ---------------------------------------------------------------- the scenario


class Scenario:
    def __init__(self) -> None:
        run = secrets.token_hex(4)
        self.run = run
        self.public = anonymous()
        self.ada = User(f"cs_ada_{run}")
        self.bob = User(f"cs_bob_{run}")
        self.tag = f"cs-{run}"
        self.word = unique_word()
        self.resource_id: UUID | None = None
        self.resource_position = 0
        self.new_resource: NewResource | None = None
        self.more_ids: list[UUID] = []
        self.position = 0  # the highest position this scenario has written

    def saw(self, position: int) -> int:
        self.position = max(self.position, position)
        return position

    def url(self, n: int) -> str:
        return f"https://example.org/client-scenario/{self.run}/{n}"

    # 1 ------------------------------------------------------------------
    def sign_up_and_log_in(self) -> str:
        for user in (self.ada, self.bob):
            body = NewUser(
                username=user.username,
                email=f"{user.username}@example.org",
                password=PASSWORD,
            )
            response = register.sync_detailed(client=self.public, body=body)
            registered = expect(response, 201, RegisteredUser)
            check(registered.username == user.username, f"registered as {registered.username!r}")
            check(
                response.headers.get("x-resourcify-position") == str(registered.position),
                "X-Resourcify-Position header differs from the body's position",
            )
            user.user_id = registered.user_id
            self.saw(registered.position)

            response = login.sync_detailed(
                client=self.public,
                body=LoginRequest(login=user.username, password=PASSWORD),
                min_position=registered.position,
            )
            tokens = expect(response, 200, SessionTokens)
            check(tokens.token_type == "Bearer", f"token_type {tokens.token_type!r}")
            check(tokens.expires_in > 0, f"expires_in {tokens.expires_in}")
            check(bool(tokens.access_token) and bool(tokens.refresh_token), "empty token")
            user.client = authenticated(tokens.access_token)
            self.saw(tokens.position)

            account = expect(
                get_me.sync_detailed(client=user.client, min_position=tokens.position),
                200,
                Account,
            )
            check(account.username == user.username, f"/v1/me says {account.username!r}")
            check(account.user_id == user.user_id, "/v1/me user_id differs from registration's")
        return f"{self.ada.username}, {self.bob.username}"

    # 2 ------------------------------------------------------------------
    def submit_idempotently(self) -> str:
        key = f"client-scenario-{self.run}-first"
        self.new_resource = NewResource(
            title=f"Fearless concurrency {self.word}",
            url=self.url(0),
            description="Threads, channels and Send/Sync, explained.",
            tags=[self.tag, "rust"],
            kind=ResourceKind.ARTICLE,
        )
        first = submit_resource.sync_detailed(
            client=self.ada.client, body=self.new_resource, idempotency_key=key
        )
        created = expect_written(first, 201)
        location = first.headers.get("location", "")
        check(
            location.endswith(f"/v1/resources/{created.id}"),
            f"Location {location!r} does not name /v1/resources/{created.id}",
        )

        retry = submit_resource.sync_detailed(
            client=self.ada.client, body=self.new_resource, idempotency_key=key
        )
        again = expect_written(retry, 201)
        check(again.id == created.id, f"retry answered id {again.id}, first {created.id}")
        check(
            again.position == created.position,
            f"retry answered position {again.position}, first {created.position}",
        )
        self.resource_id = created.id
        self.resource_position = self.saw(created.position)
        return f"id {created.id} at position {created.position}, retry answered the same"

    # 3 ------------------------------------------------------------------
    def read_back(self) -> str:
        response = get_resource.sync_detailed(
            self.resource_id,
            client=self.public,
            x_resourcify_min_position=self.resource_position,
        )
        resource = expect(response, 200, Resource)
        sent = self.new_resource
        check(resource.id == self.resource_id, f"id {resource.id}")
        check(resource.title == sent.title, f"title {resource.title!r}")
        check(sorted(resource.tags) == sorted(sent.tags), f"tags {resource.tags}")
        check(resource.kind == sent.kind, f"kind {resource.kind}")
        check(resource.url == sent.url, f"url {resource.url!r}")
        check(resource.description == sent.description, f"description {resource.description!r}")
        check(resource.version == 1, f"version {resource.version}")
        check(resource.votes == 0, f"votes {resource.votes}")
        check(
            not isinstance(resource.author, Unset)
            and resource.author.user_id == self.ada.user_id
            and resource.author.username == self.ada.username,
            f"author {resource.author}",
        )
        check(resource.source is UNSET, "a member's resource has a news source")
        check(bool(response.headers.get("etag")), "no ETag on a public read")
        return f"{resource.title!r} {resource.tags} {resource.kind.value}"

    # 4 ------------------------------------------------------------------
    def page_by_tag(self) -> str:
        kinds = [ResourceKind.VIDEO, ResourceKind.BOOK, ResourceKind.TOOL]
        for n, kind in enumerate(kinds, start=1):
            body = NewResource(
                title=f"Client scenario resource {n}",
                url=self.url(n),
                description=f"Number {n} of the paging check.",
                tags=[self.tag],
                kind=kind,
            )
            created = expect_written(
                submit_resource.sync_detailed(client=self.ada.client, body=body), 201
            )
            self.more_ids.append(created.id)
            self.saw(created.position)

        expected = {self.resource_id, *self.more_ids}
        seen: list[UUID] = []
        pages = 0
        cursor: Any = UNSET
        previous_created_at = None
        while True:
            pages += 1
            check(pages <= MAX_PAGES, f"still paging after {MAX_PAGES} pages")
            response = list_resources.sync_detailed(
                client=self.public,
                tag=self.tag,
                limit=2,
                cursor=cursor,
                min_position=self.position,
            )
            page = expect(response, 200, ResourceList)
            check(len(page.items) <= 2, f"limit=2 answered {len(page.items)} items")
            for item in page.items:
                check(self.tag in item.tags, f"{item.id} lacks tag {self.tag}: {item.tags}")
                if previous_created_at is not None:
                    check(
                        item.created_at <= previous_created_at,
                        "sort=new is not newest first",
                    )
                previous_created_at = item.created_at
            seen.extend(ids(page.items))
            link = response.headers.get("link", "")
            if isinstance(page.next_cursor, Unset):
                check('rel="next"' not in link, f"last page still links a next one: {link!r}")
                break
            check(bool(page.next_cursor), "next_cursor is present but empty")
            check('rel="next"' in link, f'next_cursor without a Link rel="next": {link!r}')
            cursor = page.next_cursor

        duplicates = {i for i in seen if seen.count(i) > 1}
        check(not duplicates, f"seen more than once: {duplicates}")
        check(set(seen) == expected, f"missing {expected - set(seen)}, extra {set(seen) - expected}")
        return f"{len(seen)} resources over {pages} pages, each once"

    # 5 ------------------------------------------------------------------
    def search_word(self) -> str:
        response = search.sync_detailed(
            client=self.public, q=self.word, min_position=self.position
        )
        found = expect(response, 200, ResourceList)
        check(
            ids(found.items) == [self.resource_id],
            f"search for {self.word!r} found {ids(found.items)}, expected only {self.resource_id}",
        )
        return f"q={self.word} found exactly the one resource"

    # 6 ------------------------------------------------------------------
    def front_page(self) -> str:
        def page(cursor: Any) -> Response[Any]:
            return feed.sync_detailed(
                client=self.public, limit=100, cursor=cursor, min_position=self.position
            )

        item = find_in_pages(page, self.resource_id)
        check(item is not None, f"{self.resource_id} is not on the front page")
        check(item.title == self.new_resource.title, f"front page title {item.title!r}")
        return "the resource is on the front page"

    # 7 ------------------------------------------------------------------
    def comment_thread(self) -> str:
        top_body = "Chapter 16 is the best on threads."
        reply_body = "Agreed, and the Send/Sync part is the key."
        response = post_comment.sync_detailed(
            self.resource_id, client=self.ada.client, body=NewComment(body=top_body)
        )
        top = expect_written(response, 201)
        self.saw(top.position)
        response = post_comment.sync_detailed(
            self.resource_id,
            client=self.bob.client,
            body=NewComment(body=reply_body, parent_id=top.id),
        )
        reply = expect_written(response, 201)
        self.saw(reply.position)

        response = list_comments.sync_detailed(
            self.resource_id, client=self.public, min_position=reply.position
        )
        thread = expect(response, 200, CommentList)
        check(len(thread.items) == 2, f"{len(thread.items)} comments, expected 2")
        first, second = thread.items
        check(first.id == top.id and second.id == reply.id, "thread is not in depth-first order")
        check(first.depth == 0 and second.depth == 1, f"depths {first.depth}, {second.depth}")
        check(first.parent_id is UNSET, f"top-level comment has parent {first.parent_id}")
        check(second.parent_id == top.id, f"reply's parent_id {second.parent_id}")
        check(first.body == top_body and second.body == reply_body, "bodies differ")
        check(not first.deleted and not second.deleted, "a comment is marked deleted")
        check(first.author.username == self.ada.username, f"author {first.author.username!r}")
        check(second.author.username == self.bob.username, f"author {second.author.username!r}")

        # The reply, read where its Location says, as the thread shows it.
        response = get_comment.sync_detailed(
            reply.id, client=self.public, min_position=reply.position
        )
        one = expect(response, 200, Comment)
        check(one.to_dict() == second.to_dict(), "the comment differs from its thread's")
        check(one.resource_id == self.resource_id, f"resource_id {one.resource_id}")
        return "depth 0 then depth 1; the reply read alone"

    # 8 ------------------------------------------------------------------
    def upvote_it(self) -> str:
        # One's own resource cannot be upvoted (403).
        own = upvote.sync_detailed(self.resource_id, client=self.ada.client)
        problem = expect(own, 403, Problem)
        check(problem.status == 403, f"problem status {problem.status}")

        voted = expect_written(upvote.sync_detailed(self.resource_id, client=self.bob.client))
        self.saw(voted.position)
        response = get_resource.sync_detailed(
            self.resource_id, client=self.public, x_resourcify_min_position=voted.position
        )
        resource = expect(response, 200, Resource)
        check(resource.votes == 1, f"votes {resource.votes}, expected 1")
        return "votes == 1 (and the author's own upvote was refused)"

    # 9 ------------------------------------------------------------------
    def bookmark_it(self) -> str:
        saved = expect_written(bookmark.sync_detailed(self.resource_id, client=self.bob.client))
        self.saw(saved.position)
        response = list_bookmarks.sync_detailed(
            client=self.bob.client, x_resourcify_min_position=saved.position
        )
        bookmarks = expect(response, 200, ResourceList)
        check(
            ids(bookmarks.items) == [self.resource_id],
            f"bookmarks {ids(bookmarks.items)}, expected [{self.resource_id}]",
        )
        cache_control = response.headers.get("cache-control", "")
        check("private" in cache_control, f"own data with Cache-Control {cache_control!r}")
        return "it is in the second user's bookmarks"

    # 10 -----------------------------------------------------------------
    def follow_and_personal_feed(self) -> str:
        by_tag = expect_written(follow_tag.sync_detailed(self.tag, client=self.bob.client))
        by_user = expect_written(
            follow_user.sync_detailed(self.ada.username, client=self.bob.client)
        )
        seen = max(self.saw(by_tag.position), self.saw(by_user.position))

        def page(cursor: Any) -> Response[Any]:
            return personal_feed.sync_detailed(
                client=self.bob.client, limit=100, cursor=cursor, min_position=seen
            )

        item = find_in_pages(page, self.resource_id)
        check(item is not None, f"{self.resource_id} is not in the personal feed")

        account = expect(
            get_me.sync_detailed(client=self.bob.client, min_position=seen), 200, Account
        )
        check(self.tag in account.followed_tags, f"followed_tags {account.followed_tags}")
        followed = [(u.user_id, u.username) for u in account.followed_users]
        check(
            (self.ada.user_id, self.ada.username) in followed,
            f"followed_users {followed}",
        )
        return "personal feed has it; /v1/me shows the tag and the user"

    # 11 -----------------------------------------------------------------
    def news(self) -> str:
        news = expect(list_news.sync_detailed(client=self.public), 200, ResourceList)
        check(isinstance(news.items, list), "items is not a list")
        for item in news.items:
            check(item.source is not UNSET, f"news item {item.id} without a source")
            check(item.author is UNSET, f"news item {item.id} with an author")
        return f"{len(news.items)} items"

    # 12 -----------------------------------------------------------------
    def stream(self) -> str:
        after = self.resource_position - 1
        event = read_sse_until(
            f"{BASE_URL}/v1/streams/resources",
            headers={"Last-Event-ID": str(after), "Accept": "text/event-stream"},
            wanted=lambda e: e.get("event") == "resource.submitted"
            and json.loads(e.get("data", "{}")).get("resource_id") == str(self.resource_id),
        )
        data = json.loads(event["data"])
        message = StreamMessage.from_dict(data)  # the generated model reads it
        check(message.type_ == "resource.submitted", f"data type {message.type_!r}")
        check(message.resource_id == self.resource_id, f"resource_id {message.resource_id}")
        check(
            event.get("id") == str(self.resource_position),
            f"SSE id {event.get('id')!r}, expected the submission's position {self.resource_position}",
        )
        if message.position is not UNSET:
            check(
                str(message.position) == event.get("id"),
                f"data position {message.position} != SSE id {event.get('id')!r}",
            )
        if message.resource is not UNSET:
            check(message.resource.title == self.new_resource.title, "resource title differs")
        return f"resource.submitted with id {event['id']} after Last-Event-ID {after}"


def read_sse_until(url: str, headers: dict[str, str], wanted: Callable[[dict], bool]) -> dict:
    """Read SSE events until one satisfies `wanted`, within STREAM_DEADLINE_SECS."""
    deadline = time.monotonic() + STREAM_DEADLINE_SECS
    timeout = httpx.Timeout(STREAM_DEADLINE_SECS)
    seen: list[dict] = []
    with httpx.Client(timeout=timeout, event_hooks={"response": [_remember]}) as http:
        with http.stream("GET", url, headers=headers) as response:
            check(response.status_code == 200, f"stream answered {response.status_code}")
            content_type = response.headers.get("content-type", "")
            check(content_type.startswith("text/event-stream"), f"content-type {content_type!r}")
            event: dict[str, str] = {}
            for line in response.iter_lines():
                if time.monotonic() > deadline:
                    break
                if line == "":
                    if "data" in event or "event" in event:
                        seen.append(event)
                        if wanted(event):
                            return event
                    event = {}
                    continue
                if line.startswith(":"):
                    continue  # a keep-alive comment
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "data" and "data" in event:
                    event["data"] += "\n" + value
                else:
                    event[field] = value
    summary = [(e.get("id"), e.get("event")) for e in seen[:10]]
    raise StepFailed(f"no matching event within {STREAM_DEADLINE_SECS:.0f}s; saw {summary}")


# ---------------------------------------------------------------- runner


def main() -> int:
    scenario = Scenario()
    steps: list[tuple[str, Callable[[], str]]] = [
        ("sign up two users and log in", scenario.sign_up_and_log_in),
        ("submit with Idempotency-Key, retry", scenario.submit_idempotently),
        ("read it back with its position", scenario.read_back),
        ("page a tag with next_cursor", scenario.page_by_tag),
        ("search a word of its title", scenario.search_word),
        ("front page feed", scenario.front_page),
        ("comment and reply", scenario.comment_thread),
        ("upvote", scenario.upvote_it),
        ("bookmark", scenario.bookmark_it),
        ("follow tag and user, personal feed, /v1/me", scenario.follow_and_personal_feed),
        ("news list", scenario.news),
        ("resource stream from Last-Event-ID", scenario.stream),
    ]
    print(f"client scenario against {BASE_URL} (run {scenario.run})")
    for number, (name, run) in enumerate(steps, start=1):
        try:
            outcome = run()
        except Exception as error:  # report any failure, including the client's own
            print(f"FAIL step {number:>2} {name}: {type(error).__name__}: {error}")
            print("last HTTP exchange: " + describe_last_exchange())
            if not isinstance(error, StepFailed):
                traceback.print_exc()
            return 1
        print(f"ok   step {number:>2} {name}: {outcome}")
    print("all steps passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
