//! `authd user add NAME --users FILE`.

use std::io::BufRead as _;

use auth_server::add_user;

use crate::BoxError;
use crate::cli::UserAddArgs;

#[derive(Debug, thiserror::Error)]
enum UserError {
    #[error("cannot read the password from stdin")]
    Stdin(#[source] std::io::Error),
    #[error("no password on stdin (one line expected)")]
    NoPassword,
}

pub(crate) fn add(args: &UserAddArgs) -> Result<(), BoxError> {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("password for {} (one line; it will be echoed):", args.name);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(UserError::Stdin)?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(UserError::NoPassword.into());
    }
    let existed = add_user(&args.users, &args.name, password)?;
    eprintln!(
        "authd: {} user {:?} in {}",
        if existed { "updated" } else { "added" },
        args.name,
        args.users.display()
    );
    Ok(())
}
