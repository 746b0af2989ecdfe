//! The user aggregate's decisions, given/when/then.

use super::*;

fn register(user_id: Uuid) -> UserCommand {
    UserCommand::Register(RegisterUser {
        user_id,
        username: Username::parse("Ada_Lovelace").unwrap(),
        email: Email::parse(" Ada@Example.org ").unwrap(),
        password_hash: "$argon2id$stub".into(),
        at: DateTime::UNIX_EPOCH,
    })
}

#[test]
fn registering_a_new_user_records_normalised_names() {
    let id = Uuid::from_u128(1);
    let events = User::default().decide(&register(id)).unwrap();
    let [UserEvent::Registered(e)] = events.as_slice() else {
        panic!("expected one UserRegistered, got {events:?}")
    };
    assert_eq!(e.username, "ada_lovelace");
    assert_eq!(e.email, "ada@example.org");
    assert_eq!(e.user_id, id);
}

#[test]
fn registering_twice_is_refused() {
    let id = Uuid::from_u128(1);
    let user = User::from_history(&User::default().decide(&register(id)).unwrap());
    assert!(matches!(
        user.decide(&register(id)),
        Err(DomainError::AlreadyExists { .. })
    ));
}

fn registered(id: u128) -> User {
    User::from_history(
        &User::default()
            .decide(&register(Uuid::from_u128(id)))
            .unwrap(),
    )
}

fn staff(id: u128, role: Role) -> Actor {
    Actor {
        roles: BTreeSet::from([role]),
        ..Actor::member(Uuid::from_u128(id))
    }
}

#[test]
fn only_administrators_grant_roles_and_granting_twice_changes_nothing() {
    let user = registered(1);
    let grant = |actor| UserCommand::GrantRole {
        actor,
        role: Role::Moderator,
        at: DateTime::UNIX_EPOCH,
    };
    assert!(matches!(
        user.decide(&grant(staff(2, Role::Moderator))),
        Err(DomainError::Forbidden(_))
    ));
    let events = user.decide(&grant(Actor::operator())).unwrap();
    assert!(matches!(&events[..], [UserEvent::RoleGranted(e)] if e.granted_by.is_none()));
    let moderator = events.iter().fold(user.clone(), |u, e| u.evolve(e));
    assert_eq!(moderator.decide(&grant(staff(2, Role::Admin))), Ok(vec![]));
}

#[test]
fn moderators_suspend_members_but_only_administrators_suspend_staff() {
    let suspend = |actor| UserCommand::Suspend {
        actor,
        reason: "spam".into(),
        at: DateTime::UNIX_EPOCH,
    };
    let member = registered(1);
    assert_eq!(
        member
            .decide(&suspend(staff(2, Role::Moderator)))
            .unwrap()
            .len(),
        1
    );
    let mut colleague = registered(3);
    colleague.roles.insert(Role::Moderator);
    assert!(
        colleague
            .decide(&suspend(staff(2, Role::Moderator)))
            .is_err()
    );
    assert_eq!(
        colleague
            .decide(&suspend(staff(4, Role::Admin)))
            .unwrap()
            .len(),
        1
    );
    assert!(
        member
            .decide(&suspend(Actor::member(Uuid::from_u128(5))))
            .is_err()
    );
}

#[test]
fn a_deleted_account_takes_no_more_commands() {
    let id = Uuid::from_u128(1);
    let owner = Actor::member(id);
    let user = registered(1);
    let events = user
        .decide(&UserCommand::Delete {
            actor: owner.clone(),
            at: DateTime::UNIX_EPOCH,
        })
        .unwrap();
    let deleted = events.iter().fold(user, |u, e| u.evolve(e));
    let follow = UserCommand::FollowTag {
        actor: owner,
        tag: Tag::parse("rust").unwrap(),
        at: DateTime::UNIX_EPOCH,
    };
    assert_eq!(deleted.decide(&follow), Err(DomainError::NotFound("user")));
    assert!(deleted.password_hash.is_empty());
}

#[test]
fn follows_stop_at_the_cap_and_unfollowing_makes_room() {
    let id = Uuid::from_u128(1);
    let owner = Actor::member(id);
    let mut user = registered(1);
    user.followed_users = (0..MAX_FOLLOWS as u128 - 1)
        .map(|n| Uuid::from_u128(1_000 + n))
        .collect();
    let follow = |tag: &str| UserCommand::FollowTag {
        actor: owner.clone(),
        tag: Tag::parse(tag).unwrap(),
        at: DateTime::UNIX_EPOCH,
    };
    let events = user.decide(&follow("rust")).unwrap();
    let user = events.iter().fold(user, |u, e| u.evolve(e));
    assert!(matches!(
        user.decide(&follow("go")),
        Err(DomainError::Conflict(_))
    ));
    // Following again what one follows is still no change, not a refusal.
    assert_eq!(user.decide(&follow("rust")), Ok(vec![]));
    let unfollow = UserCommand::UnfollowUser {
        actor: owner.clone(),
        followee_id: Uuid::from_u128(1_000),
        at: DateTime::UNIX_EPOCH,
    };
    let events = user.decide(&unfollow).unwrap();
    let user = events.iter().fold(user, |u, e| u.evolve(e));
    assert_eq!(user.decide(&follow("go")).map(|e| e.len()), Ok(1));
}

#[test]
fn registration_reports_every_bad_field() {
    let errors = Registration {
        username: "a!",
        email: "not-an-email",
        password: &crate::Secret::new("short"),
    }
    .validate()
    .unwrap_err();
    let fields: Vec<_> = errors.0.iter().map(|e| e.field).collect();
    assert_eq!(fields, ["username", "email", "password"]);
}

#[test]
fn email_rules() {
    assert!(Email::parse("a@b.co").is_ok());
    for bad in [
        "", "a@", "@b.co", "a@b", "a@@b.co", "a b@c.de", "a@.b", "a@b.",
    ] {
        assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn marking_notifications_read_moves_forward_only() {
    let id = Uuid::from_u128(1);
    let user = User::default().evolve(&UserEvent::Registered(UserRegistered {
        user_id: id,
        username: "ada".into(),
        email: "ada@example.org".into(),
        password_hash: String::new(),
        registered_at: DateTime::UNIX_EPOCH,
    }));
    let mark = |up_to| UserCommand::MarkNotificationsRead {
        actor: Actor::member(id),
        up_to,
        at: DateTime::UNIX_EPOCH,
    };
    let events = user.decide(&mark(7)).unwrap();
    let [UserEvent::NotificationsRead(read)] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!((read.user_id, read.up_to), (id, 7));
    let user = user.evolve(&events[0]);
    assert_eq!(user.decide(&mark(7)).unwrap(), vec![]);
    assert_eq!(user.decide(&mark(3)).unwrap(), vec![]);
    assert_eq!(user.decide(&mark(8)).unwrap().len(), 1);
    let other = UserCommand::MarkNotificationsRead {
        actor: Actor::member(Uuid::from_u128(2)),
        up_to: 9,
        at: DateTime::UNIX_EPOCH,
    };
    assert!(matches!(
        user.decide(&other),
        Err(DomainError::Forbidden(_))
    ));
}
