//! `signer add|remove|list`, `sign` and `unsign`.

use keystore::ops;

use crate::output;

/// `signer add`.
pub(crate) fn added(json: bool, done: &ops::SignerAdded, url: &str) {
    if json {
        output::json(done);
        return;
    }
    if let Some(made) = &done.generated {
        println!("generated    {}   {}", made.id, made.path.display());
    }
    if done.already {
        eprintln!(
            "{} is already a signer of {} with key {}; nothing was changed.",
            done.name, done.gun, done.key_id
        );
    } else {
        eprintln!(
            "Added signer {} to {} on {url} with key {} (targets/{} and targets/releases; targets.json version {}).",
            done.name, done.gun, done.key_id, done.name, done.targets_version
        );
    }
}

/// `signer remove`.
pub(crate) fn removed(json: bool, done: &ops::SignerRemoved, url: &str) {
    if json {
        output::json(done);
        return;
    }
    eprintln!(
        "Removed signer {} from {} on {url} (targets.json version {}); its key file stays in this trust directory.",
        done.name, done.gun, done.targets_version
    );
    if done.orphaned_tags > 0 {
        eprintln!(
            "Warning: {} tag(s) of targets/releases no longer verify until another signer signs them.",
            done.orphaned_tags
        );
    }
}

/// `signer list`.
pub(crate) fn list(json: bool, list: &ops::Signers) {
    if json {
        output::json(list);
        return;
    }
    for reason in &list.unverified {
        eprintln!("Warning: {reason}; its tags are not trusted until a signer signs them again.");
    }
    if list.signers.is_empty() {
        eprintln!(
            "{} has no signers; its targets key signs its tags.",
            list.gun
        );
        return;
    }
    let key_cell = |keys: &[ops::SignerKeyInfo]| {
        keys.iter()
            .map(|k| format!("{}{}", k.id, if k.local { " (here)" } else { "" }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows: Vec<Vec<String>> = list
        .signers
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                key_cell(&s.keys),
                if s.can_release { "yes" } else { "no" }.into(),
                s.signed_tags.to_string(),
            ]
        })
        .collect();
    output::table(&["SIGNER", "KEYS", "RELEASES", "TAGS"], &rows);
    eprintln!(
        "targets/releases: {} tag(s), keys {}",
        list.released_tags,
        key_cell(&list.release_keys)
    );
}

/// `sign`.
pub(crate) fn signed(json: bool, done: &ops::SignedTag, url: &str) {
    if json {
        output::json(done);
        return;
    }
    let image = format!("{}:{}", done.gun, done.tag);
    if done.already {
        eprintln!(
            "{image} is already signed as {} in {}; nothing was changed.",
            done.digest,
            done.roles.join(", ")
        );
        return;
    }
    println!("{image}   {}   {} bytes", done.digest, done.size);
    if let Some(old) = &done.replaced {
        eprintln!("It was {old} before.");
    }
    eprintln!(
        "Signed {image} in {} and published to {url}{}.",
        done.roles.join(", "),
        match &done.checked_registry {
            Some(r) => format!(" (the registry {r} holds the manifest)"),
            None => " (the registry was not asked)".into(),
        }
    );
}

/// `unsign`.
pub(crate) fn unsigned(json: bool, done: &ops::UnsignedTag, url: &str) {
    if json {
        output::json(done);
        return;
    }
    eprintln!(
        "Removed the signature of {}:{} from {} on {url}.",
        done.gun,
        done.tag,
        done.roles.join(", ")
    );
}

/// `rotate --signer`.
pub(crate) fn rotated(json: bool, done: &ops::SignerRotated) {
    if json {
        output::json(done);
        return;
    }
    println!("new key      {}", done.new_key);
    eprintln!(
        "{} signer {} of {}: {} replaced by {}{}.",
        if done.resumed {
            "Completed the rotation of"
        } else {
            "Rotated"
        },
        done.name,
        done.gun,
        done.old_keys.join(", "),
        done.new_key,
        if done.resigned.is_empty() {
            String::new()
        } else {
            format!("; re-signed {}", done.resigned.join(", "))
        }
    );
    for id in &done.retired {
        eprintln!("Retired the old key {id} to keytool-retired/.");
    }
    for (id, uses) in &done.kept {
        eprintln!("Kept the old key {id}: still {}.", uses.join(", "));
    }
}
