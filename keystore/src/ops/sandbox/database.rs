//! The trust service's database: the MySQL/MariaDB schema that notary-server 0.7 and
//! notary-signer 0.7 store their data in, the two accounts they use, and the DSNs they are
//! configured with.
//!
//! The DDL is keytool's own, written from what notary's storage code reads and writes (its gorm
//! models and queries), not copied from notary's migration files:
//!
//! * notary-server keeps every version of every TUF file of a repository (GUN) in `tuf_files`:
//!   it looks rows up by (gun, role) newest version first, by (gun, role, version) and by
//!   (gun, role, sha256); a duplicate (gun, role, version) must fail with a duplicate-key error
//!   (MySQL error 1062), which it reports as "old version"; `notary delete --remote` deletes
//!   all rows of a GUN. Every new timestamp (and every deletion) is appended to `changefeed`.
//! * notary-signer keeps the private keys it holds, encrypted (JWE, PBES2 + A256GCM) with the
//!   passphrase named by `passphrase_alias`, in `private_keys`: found by `key_id`, and a key not
//!   yet used (`last_used IS NULL`) for a (gun, role, algorithm) is handed out again before a
//!   new one is made. Removing a key only sets `deleted_at` (gorm's soft delete).
//! * gorm fills `created_at` and `updated_at` on every insert and `updated_at` on every update;
//!   `deleted_at` stays NULL except in a soft delete; `last_used` must default to NULL (gorm
//!   leaves it out of the insert).
//!
//! Text columns are `utf8mb4` with the binary collation: GUNs, roles and key IDs compare byte
//! for byte, as notary's memory store compares them (the server's default, latin1 with a
//! case-insensitive collation, would make `Example/Repo` and `example/repo` one repository).
//!
//! Each account may do only what its service does: `server` reads, adds and deletes TUF files
//! and reads and appends the changefeed; `signer` reads, adds and updates private keys. Neither
//! may touch the other's database, alter a table or delete a key row.
//!
//! `sandbox up` with the signer topology applies this schema in its database container; the
//! test harness's `tests/src/bin/sandbox_schema.rs` prints the very same SQL and DSNs for
//! `tests/peers/notary-stack.sh --db mariadb` (through the `internals` feature).

use std::fmt;

/// notary-server's database.
pub const SERVER_DATABASE: &str = "notaryserver";
/// notary-signer's database.
pub const SIGNER_DATABASE: &str = "notarysigner";
/// The account notary-server connects as.
pub const SERVER_USER: &str = "server";
/// The account notary-signer connects as.
pub const SIGNER_USER: &str = "signer";
/// The MySQL/MariaDB port.
pub const DEFAULT_PORT: u16 = 3306;

/// The alias notary-signer records with every key it encrypts (`storage.default_alias` in its
/// configuration; notary has no default and refuses to start without one). The passphrase
/// itself is read from the environment variable [`SIGNER_PASSPHRASE_ENV`].
pub const SIGNER_PASSPHRASE_ALIAS: &str = "keytoolsandbox";
/// `NOTARY_SIGNER_` + the alias in capitals: where notary-signer reads the passphrase that
/// encrypts and decrypts the keys stored under [`SIGNER_PASSPHRASE_ALIAS`].
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // printed by the harness's tool
pub const SIGNER_PASSPHRASE_ENV: &str = "NOTARY_SIGNER_KEYTOOLSANDBOX";

/// Longest password or passphrase accepted.
const MAX_SECRET_LEN: usize = 128;
/// Length of the passwords and passphrases [`new_secret`] makes (about 190 bits).
const NEW_SECRET_LEN: usize = 32;
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A password, passphrase or host name the database code refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidDatabaseSetting {
    /// What was refused, e.g. "the server account's password".
    pub what: &'static str,
    /// Why.
    pub reason: &'static str,
}

impl fmt::Display for InvalidDatabaseSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.what, self.reason)
    }
}

impl std::error::Error for InvalidDatabaseSetting {}

/// Accepts a password or passphrase of 1 to 128 ASCII letters and digits: nothing that needs
/// quoting in SQL, in a DSN, in JSON or in a shell.
fn check_secret(what: &'static str, secret: &str) -> Result<(), InvalidDatabaseSetting> {
    let refuse = |reason| Err(InvalidDatabaseSetting { what, reason });
    if secret.is_empty() {
        return refuse("is empty");
    }
    if secret.len() > MAX_SECRET_LEN {
        return refuse("is longer than 128 characters");
    }
    if !secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return refuse("may contain only the letters A-Z, a-z and the digits 0-9");
    }
    Ok(())
}

/// Accepts a host name or IPv4 address for a DSN: letters, digits, `.`, `-` and `_` (container
/// names), at most 253 characters.
fn check_host(host: &str) -> Result<(), InvalidDatabaseSetting> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(InvalidDatabaseSetting {
            what: "the database host",
            reason: "must be a host name or an IPv4 address",
        })
    }
}

/// `text` as a MySQL/MariaDB string literal for a server in its default SQL mode (backslash
/// escapes on): in single quotes, with `'` doubled and `\`, NUL, newline, carriage return and
/// Ctrl-Z escaped with a backslash. The secrets this module puts in literals are alphanumeric
/// anyway ([`check_secret`]), so their literals never contain an escape.
fn sql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x1a' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// notary-server's tables.
const SERVER_TABLES: &str = "\
CREATE TABLE IF NOT EXISTS `notaryserver`.`tuf_files` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `created_at` DATETIME(6) NOT NULL,
  `updated_at` DATETIME(6) NOT NULL,
  `deleted_at` DATETIME(6) NULL DEFAULT NULL,
  `gun` VARCHAR(255) NOT NULL,
  `role` VARCHAR(255) NOT NULL,
  `version` INT NOT NULL,
  `sha256` VARCHAR(64) NULL DEFAULT NULL,
  `data` LONGBLOB NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `tuf_files_gun_role_version` (`gun`, `role`, `version`),
  KEY `tuf_files_gun_role_sha256` (`gun`, `role`, `sha256`),
  KEY `tuf_files_deleted_at` (`deleted_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `notaryserver`.`changefeed` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `created_at` DATETIME(6) NOT NULL,
  `gun` VARCHAR(255) NOT NULL,
  `version` INT NOT NULL,
  `sha256` VARCHAR(64) NULL DEFAULT NULL,
  `category` VARCHAR(20) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `changefeed_gun` (`gun`),
  CONSTRAINT `changefeed_category` CHECK (`category` IN ('update', 'deletion'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
";

/// notary-signer's table.
const SIGNER_TABLES: &str = "\
CREATE TABLE IF NOT EXISTS `notarysigner`.`private_keys` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `created_at` DATETIME(6) NOT NULL,
  `updated_at` DATETIME(6) NOT NULL,
  `deleted_at` DATETIME(6) NULL DEFAULT NULL,
  `key_id` VARCHAR(255) NOT NULL,
  `encryption_alg` VARCHAR(255) NOT NULL,
  `keywrap_alg` VARCHAR(255) NOT NULL,
  `algorithm` VARCHAR(50) NOT NULL,
  `passphrase_alias` VARCHAR(50) NOT NULL,
  `gun` VARCHAR(255) NOT NULL,
  `role` VARCHAR(255) NOT NULL,
  `public` BLOB NOT NULL,
  `private` BLOB NOT NULL,
  `last_used` DATETIME(6) NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `private_keys_key_id` (`key_id`),
  KEY `private_keys_unused` (`gun`, `role`, `algorithm`, `last_used`),
  KEY `private_keys_deleted_at` (`deleted_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
";

/// The SQL that creates both databases, their tables and the two accounts with the given
/// passwords, each allowed only what its service does. Run it as an administrator (e.g. root
/// over the server's socket). Running it again changes nothing but the passwords: every
/// statement is "if not exists", and grants add up.
pub fn schema_sql(
    server_password: &str,
    signer_password: &str,
) -> Result<String, InvalidDatabaseSetting> {
    check_secret("the server account's password", server_password)?;
    check_secret("the signer account's password", signer_password)?;
    let server_pw = sql_string(server_password);
    let signer_pw = sql_string(signer_password);
    Ok(format!(
        "\
-- The trust service's database, written by keytool: notary-server's TUF metadata and
-- notary-signer's encrypted private keys, each in its own database with its own account.

CREATE DATABASE IF NOT EXISTS `{SERVER_DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE DATABASE IF NOT EXISTS `{SIGNER_DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

{SERVER_TABLES}
{SIGNER_TABLES}
CREATE USER IF NOT EXISTS '{SERVER_USER}'@'%' IDENTIFIED BY {server_pw};
ALTER USER '{SERVER_USER}'@'%' IDENTIFIED BY {server_pw};
GRANT SELECT, INSERT, DELETE ON `{SERVER_DATABASE}`.`tuf_files` TO '{SERVER_USER}'@'%';
GRANT SELECT, INSERT ON `{SERVER_DATABASE}`.`changefeed` TO '{SERVER_USER}'@'%';

CREATE USER IF NOT EXISTS '{SIGNER_USER}'@'%' IDENTIFIED BY {signer_pw};
ALTER USER '{SIGNER_USER}'@'%' IDENTIFIED BY {signer_pw};
GRANT SELECT, INSERT, UPDATE ON `{SIGNER_DATABASE}`.`private_keys` TO '{SIGNER_USER}'@'%';
"
    ))
}

/// The go-sql-driver/mysql DSN notary expects in `storage.db_url`:
/// `USER:PASSWORD@tcp(HOST:PORT)/DATABASE?parseTime=True`. `parseTime` makes the driver return
/// DATETIME columns as times, which gorm needs to read `created_at` and friends (notary 0.7 also
/// forces it on for MySQL, but its documentation asks for it in the DSN).
fn dsn(
    user: &str,
    password: &str,
    host: &str,
    port: u16,
    database: &str,
) -> Result<String, InvalidDatabaseSetting> {
    check_host(host)?;
    Ok(format!(
        "{user}:{password}@tcp({host}:{port})/{database}?parseTime=True"
    ))
}

/// notary-server's `storage.db_url`.
pub fn server_dsn(host: &str, port: u16, password: &str) -> Result<String, InvalidDatabaseSetting> {
    check_secret("the server account's password", password)?;
    dsn(SERVER_USER, password, host, port, SERVER_DATABASE)
}

/// notary-signer's `storage.db_url`.
pub fn signer_dsn(host: &str, port: u16, password: &str) -> Result<String, InvalidDatabaseSetting> {
    check_secret("the signer account's password", password)?;
    dsn(SIGNER_USER, password, host, port, SIGNER_DATABASE)
}

/// Checks a passphrase for [`SIGNER_PASSPHRASE_ENV`] (the same rules as the passwords).
pub fn check_signer_passphrase(passphrase: &str) -> Result<(), InvalidDatabaseSetting> {
    check_secret("the signer's key passphrase", passphrase)
}

/// A new random password or passphrase: 32 letters and digits from the OS's random source.
pub fn new_secret() -> Result<String, getrandom::Error> {
    // 62 * 4 = 248: bytes at or above it are drawn again, so every character is equally likely.
    let mut out = String::with_capacity(NEW_SECRET_LEN);
    let mut buf = [0u8; 64];
    while out.len() < NEW_SECRET_LEN {
        getrandom::fill(&mut buf)?;
        for &b in &buf {
            if out.len() == NEW_SECRET_LEN {
                break;
            }
            if usize::from(b) < ALPHANUMERIC.len() * 4 {
                out.push(char::from(
                    ALPHANUMERIC[usize::from(b) % ALPHANUMERIC.len()],
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_has_both_databases_their_tables_and_least_privilege_grants() {
        let sql = schema_sql("ServerPw123", "SignerPw456").expect("valid");
        for needle in [
            "CREATE DATABASE IF NOT EXISTS `notaryserver` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;",
            "CREATE DATABASE IF NOT EXISTS `notarysigner` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;",
            "CREATE TABLE IF NOT EXISTS `notaryserver`.`tuf_files` (",
            "UNIQUE KEY `tuf_files_gun_role_version` (`gun`, `role`, `version`)",
            "CREATE TABLE IF NOT EXISTS `notaryserver`.`changefeed` (",
            "CREATE TABLE IF NOT EXISTS `notarysigner`.`private_keys` (",
            "UNIQUE KEY `private_keys_key_id` (`key_id`)",
            "`last_used` DATETIME(6) NULL DEFAULT NULL,",
            "CREATE USER IF NOT EXISTS 'server'@'%' IDENTIFIED BY 'ServerPw123';",
            "ALTER USER 'server'@'%' IDENTIFIED BY 'ServerPw123';",
            "CREATE USER IF NOT EXISTS 'signer'@'%' IDENTIFIED BY 'SignerPw456';",
            "ALTER USER 'signer'@'%' IDENTIFIED BY 'SignerPw456';",
        ] {
            assert!(sql.contains(needle), "missing {needle:?} in\n{sql}");
        }
        // Exactly these grants, each on one table of the account's own database.
        let grants: Vec<&str> = sql.lines().filter(|l| l.starts_with("GRANT")).collect();
        assert_eq!(
            grants,
            [
                "GRANT SELECT, INSERT, DELETE ON `notaryserver`.`tuf_files` TO 'server'@'%';",
                "GRANT SELECT, INSERT ON `notaryserver`.`changefeed` TO 'server'@'%';",
                "GRANT SELECT, INSERT, UPDATE ON `notarysigner`.`private_keys` TO 'signer'@'%';",
            ]
        );
        // Nothing that drops, alters a table or hands out more than that.
        let upper = sql.to_uppercase();
        for word in [
            "DROP",
            "ALTER TABLE",
            "ALL PRIVILEGES",
            "GRANT OPTION",
            "*.*",
        ] {
            assert!(!upper.contains(word), "{word} in the schema SQL");
        }
        // Every statement ends with a semicolon: the SQL can be piped into the client.
        let statements = sql
            .lines()
            .filter(|l| !l.starts_with("--") && !l.starts_with("  ") && !l.is_empty())
            .filter(|l| !l.starts_with(')'))
            .filter(|l| !l.ends_with('('));
        for s in statements {
            assert!(s.ends_with(';'), "unterminated statement: {s}");
        }
    }

    #[test]
    fn schema_is_deterministic_and_only_the_passwords_differ() {
        let a = schema_sql("a1", "b2").expect("valid");
        assert_eq!(a, schema_sql("a1", "b2").expect("valid"));
        let b = schema_sql("Xyz789", "Q0").expect("valid");
        assert_eq!(
            a.replace("'a1'", "'S'").replace("'b2'", "'T'"),
            b.replace("'Xyz789'", "'S'").replace("'Q0'", "'T'")
        );
    }

    #[test]
    fn passwords_other_than_letters_and_digits_are_refused() {
        for bad in [
            "",
            "with space",
            "quote'",
            "dq\"",
            "back\\slash",
            "semi;colon",
            "at@sign",
            "colon:",
            "slash/",
            "dollar$",
            "ümlaut",
            "nul\0",
            "new\nline",
        ] {
            let err = schema_sql(bad, "ok").expect_err(bad);
            assert_eq!(err.what, "the server account's password", "{bad:?}");
            schema_sql("ok", bad).expect_err(bad);
            server_dsn("127.0.0.1", 3306, bad).expect_err(bad);
            signer_dsn("127.0.0.1", 3306, bad).expect_err(bad);
            check_signer_passphrase(bad).expect_err(bad);
        }
        let long = "a".repeat(MAX_SECRET_LEN + 1);
        schema_sql(&long, "ok").expect_err("too long");
        schema_sql(&"a".repeat(MAX_SECRET_LEN), "ok").expect("128 is fine");
        let err = schema_sql("ok", "a b").expect_err("space");
        assert_eq!(
            err.to_string(),
            "the signer account's password may contain only the letters A-Z, a-z and the digits 0-9"
        );
    }

    #[test]
    fn string_literals_are_escaped() {
        assert_eq!(sql_string("abc123"), "'abc123'");
        assert_eq!(sql_string(""), "''");
        assert_eq!(sql_string("it's"), "'it''s'");
        assert_eq!(sql_string("''"), "''''''");
        assert_eq!(sql_string("a\\b"), "'a\\\\b'");
        assert_eq!(sql_string("x\0y\n\r\x1az"), "'x\\0y\\n\\r\\Zz'");
        // A quote cannot end the literal early: outside the escapes, no lone quote remains.
        let lit = sql_string("'; DROP DATABASE notaryserver; --");
        let inner = &lit[1..lit.len() - 1];
        assert_eq!(inner.replace("''", ""), "; DROP DATABASE notaryserver; --");
    }

    #[test]
    fn dsns_are_what_notary_expects() {
        assert_eq!(
            server_dsn("127.0.0.1", 33060, "Pw1").expect("valid"),
            "server:Pw1@tcp(127.0.0.1:33060)/notaryserver?parseTime=True"
        );
        assert_eq!(
            signer_dsn("sandbox-db", DEFAULT_PORT, "Pw2").expect("valid"),
            "signer:Pw2@tcp(sandbox-db:3306)/notarysigner?parseTime=True"
        );
        for bad in ["", "host/x", "a@b", "h:1", "[::1]", "a b", "h)"] {
            server_dsn(bad, 3306, "Pw1").expect_err(bad);
        }
    }

    #[test]
    fn signer_passphrase_env_names_the_alias() {
        assert_eq!(
            SIGNER_PASSPHRASE_ENV,
            format!("NOTARY_SIGNER_{}", SIGNER_PASSPHRASE_ALIAS.to_uppercase())
        );
        check_signer_passphrase(SIGNER_PASSPHRASE_ALIAS).expect("alias is alphanumeric");
    }

    #[test]
    fn new_secrets_are_valid_and_differ() {
        let a = new_secret().expect("random");
        let b = new_secret().expect("random");
        assert_eq!(a.len(), NEW_SECRET_LEN);
        assert_ne!(a, b);
        for s in [&a, &b] {
            check_secret("secret", s).expect("valid");
            schema_sql(s, s).expect("usable as a password");
        }
    }
}
