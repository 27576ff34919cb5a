//! The example web app (see the library's documentation for the routes).
//!
//! ```text
//! cargo run -p enlist-example-axum
//! ```
//!
//! Settings, from the environment:
//! - `ENLIST_EXAMPLE_ADDR`: where to listen (default `127.0.0.1:3000`;
//!   port 0 picks a free one);
//! - `ENLIST_EXAMPLE_DB`: the SQLite file (default `enlist-example.sqlite3`);
//! - `ENLIST_EXAMPLE_MAIL_DIR`: where invitation emails are written as
//!   `.eml` files (default `enlist-example-mail`);
//! - `ENLIST_EXAMPLE_ACCEPT_URL`: the accept link's base in the emails
//!   (default `http://localhost:3000/accept`).
//!
//! The first line on stdout is `listening on http://ADDR`.

use enlist::{EngineConfig, Enlist};
use enlist_example_axum::{AppState, app};
use enlist_smtp::FileMailer;
use std::io::Write;
use std::sync::Arc;

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = setting("ENLIST_EXAMPLE_ADDR", "127.0.0.1:3000");
    let db = setting("ENLIST_EXAMPLE_DB", "enlist-example.sqlite3");
    let mail_dir = setting("ENLIST_EXAMPLE_MAIL_DIR", "enlist-example-mail");
    let mut config = EngineConfig::default();
    config.default_accept_url_base =
        setting("ENLIST_EXAMPLE_ACCEPT_URL", "http://localhost:3000/accept");
    config.product_name = "enlist example".into();

    // Opening the database (and migrating it) blocks: done before serving.
    let store = enlist_sqlite::SqliteStore::open(&db)?;
    let engine = Enlist::new(Arc::new(store)).try_with_config(config)?;
    let mailer = FileMailer::new(&mail_dir, "invitations@example.invalid")?;
    let state = AppState::new(engine, mailer)?;

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    axum::serve(listener, app(state)).await?;
    Ok(())
}
