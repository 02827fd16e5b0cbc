//! The study's reads and writes, through the project's one reader ([`crate::files::text`]) and
//! one output policy ([`crate::files::output`]): every file is written to a temporary file and
//! renamed into place, so a killed unit leaves the old file or nothing, never half a file. The
//! study's files are derived output of its folder, so they are replaced without `--force`.

use crate::error::Result;
use crate::files::output::{remove_stale_temps, write_file_with};
use crate::files::text::TextInput;
use std::path::Path;

/// Writes `text` to `path` under the output policy (replacing a regular file, never a link or a
/// device; missing folders are created).
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    write_bytes(path, text.as_bytes())
}

/// Writes `bytes` to `path` under the output policy. A killed writer's temporary file of the same path is removed first (a resumed study holds the
/// same files as an uninterrupted one).
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    remove_stale_temps(path);
    write_file_with(path, true, |w| w.write_all(bytes))
}

/// Reads a text file through the one text reader (BOM stripped, CRLF normalised).
pub fn read_text(path: &Path) -> Result<String> {
    Ok(TextInput::read(path)?.text().to_string())
}
