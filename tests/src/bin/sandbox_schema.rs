//! Prints the trust service's database setup made by keytool's sandbox code,
//! `keystore/src/ops/sandbox/database.rs` (reached through keystore's `internals` feature, so
//! the test harness and `keytool sandbox up --signer` share one source of the SQL):
//!
//! ```text
//! cargo run -q -p interop-tests --bin sandbox_schema -- sql
//! cargo run -q -p interop-tests --bin sandbox_schema -- settings HOST PORT
//! ```
//!
//! `tests/peers/notary-stack.sh --db mariadb` runs it; `cargo test -p interop-tests` builds it
//! next to the test binaries, where the harness finds it.
//!
//! The passwords come from the environment, never from the command line:
//! `KEYTOOL_DB_SERVER_PASSWORD` and `KEYTOOL_DB_SIGNER_PASSWORD` (letters and digits only).
//!
//! * `sql` prints the SQL that creates the databases `notaryserver` and `notarysigner`, their
//!   tables and the accounts `server` and `signer` with those passwords (pipe it into
//!   `mariadb` as an administrator).
//! * `settings HOST PORT` prints shell assignments: `SERVER_DSN` and `SIGNER_DSN` (notary's
//!   `storage.db_url` for a database at HOST:PORT), `SIGNER_ALIAS` (notary-signer's
//!   `storage.default_alias`) and `SIGNER_PASSPHRASE_ENV` (the variable notary-signer reads
//!   that alias's passphrase from).

use std::process::ExitCode;

use keystore::ops::sandbox_database as database;

fn usage() -> ExitCode {
    eprintln!("usage: sandbox_schema sql | sandbox_schema settings HOST PORT");
    eprintln!("(passwords in KEYTOOL_DB_SERVER_PASSWORD and KEYTOOL_DB_SIGNER_PASSWORD)");
    ExitCode::from(2)
}

fn password(var: &str) -> Result<String, String> {
    std::env::var(var).map_err(|_| format!("{var} is not set"))
}

fn run(args: &[String]) -> Result<String, String> {
    let server = password("KEYTOOL_DB_SERVER_PASSWORD")?;
    let signer = password("KEYTOOL_DB_SIGNER_PASSWORD")?;
    match args {
        [cmd] if cmd == "sql" => database::schema_sql(&server, &signer).map_err(|e| e.to_string()),
        [cmd, host, port] if cmd == "settings" => {
            let port: u16 = port.parse().map_err(|_| format!("invalid port: {port}"))?;
            let server_dsn =
                database::server_dsn(host, port, &server).map_err(|e| e.to_string())?;
            let signer_dsn =
                database::signer_dsn(host, port, &signer).map_err(|e| e.to_string())?;
            // Every value is letters, digits and DSN punctuation without quotes or spaces.
            Ok(format!(
                "SERVER_DSN='{server_dsn}'\nSIGNER_DSN='{signer_dsn}'\nSIGNER_ALIAS='{}'\nSIGNER_PASSPHRASE_ENV='{}'\n",
                database::SIGNER_PASSPHRASE_ALIAS,
                database::SIGNER_PASSPHRASE_ENV,
            ))
        }
        _ => Err(String::new()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) if e.is_empty() => usage(),
        Err(e) => {
            eprintln!("sandbox_schema: {e}");
            ExitCode::FAILURE
        }
    }
}
