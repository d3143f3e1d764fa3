//! Reading an input file (a scenario, a latency fixture) without trusting it: only regular
//! files (a FIFO would block the read forever, `/dev/zero` would never end), at most
//! [`MAX_INPUT_BYTES`], UTF-8 with the place of the first invalid byte named, and every line
//! ending (`\r\n`, a lone `\r`) read as `\n` so that positions count lines as an editor does.

use super::diagnostic::{Position, ScenarioError, SourceFile};
use std::io::Read;
use std::path::Path;

/// The largest input file read: the shipped scenarios are about 2 KB.
pub const MAX_INPUT_BYTES: u64 = 1024 * 1024;

/// The text of the file at `path`, or a diagnostic saying why it cannot be read. `what`
/// names the file's role in messages ("the scenario", "the latency fixture").
pub fn read_text(path: &Path, what: &str, expected: &str) -> Result<String, ScenarioError> {
    read_text_at_most(path, what, expected, MAX_INPUT_BYTES)
}

/// The same, for inputs that may be larger than a scenario (a node spec), at most `max`.
pub fn read_text_at_most(
    path: &Path,
    what: &str,
    expected: &str,
    max: u64,
) -> Result<String, ScenarioError> {
    let unreadable = |message: String, hint: &str| -> ScenarioError {
        SourceFile::new(path, String::new())
            .diagnostic_at(None, message, expected, hint)
            .into()
    };
    // Metadata first: `stat` does not block on a FIFO the way `open` does.
    let metadata = std::fs::metadata(path)
        .map_err(|e| unreadable(format!("cannot read {what}: {e}"), "check the path"))?;
    if !metadata.is_file() {
        let kind = if metadata.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(unreadable(
            format!("cannot read {what}: it is {kind}"),
            "give the path of a file",
        ));
    }
    let too_large = |bytes: u64| {
        unreadable(
            format!("{what} is {bytes} bytes, more than hadr reads ({max} bytes)"),
            "a scenario or fixture is a few kilobytes; check that this is the file you meant",
        )
    };
    if metadata.len() > max {
        return Err(too_large(metadata.len()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(max + 1).read_to_end(&mut bytes))
        .map_err(|e| unreadable(format!("cannot read {what}: {e}"), "check the path"))?;
    if bytes.len() as u64 > max {
        // The file grew after it was measured.
        return Err(too_large(bytes.len() as u64));
    }
    decode(path, bytes, what, expected)
}

/// UTF-8 text with normalised line endings; an invalid byte is located by line and column.
pub fn decode(
    path: &Path,
    bytes: Vec<u8>,
    what: &str,
    expected: &str,
) -> Result<String, ScenarioError> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(normalise_line_endings(text)),
        Err(error) => {
            let valid_up_to = error.utf8_error().valid_up_to();
            let bytes = error.into_bytes();
            let prefix =
                normalise_line_endings(String::from_utf8_lossy(&bytes[..valid_up_to]).into_owned());
            let line = prefix.matches('\n').count() as u64 + 1;
            let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
            let text = normalise_line_endings(String::from_utf8_lossy(&bytes).into_owned());
            Err(SourceFile::new(path, text)
                .diagnostic_at(
                    Some(Position {
                        line,
                        column,
                        width: 1,
                    }),
                    format!(
                        "{what} is not UTF-8 text: invalid byte 0x{:02x}",
                        bytes[valid_up_to]
                    ),
                    expected,
                    "save the file as UTF-8",
                )
                .into())
        }
    }
}

/// `\r\n` and lone `\r` (old Mac files) become `\n`.
pub fn normalise_line_endings(text: String) -> String {
    if !text.contains('\r') {
        return text;
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_byte_is_located_by_line_and_column() {
        let error = decode(
            Path::new("s.yaml"),
            b"name: x\r\nseed: \xff1\n".to_vec(),
            "the scenario",
            "text",
        )
        .unwrap_err();
        let diagnostic = &error.diagnostics[0];
        let position = diagnostic.position.unwrap();
        assert_eq!((position.line, position.column), (2, 7));
        assert!(
            diagnostic.message.contains("0xff"),
            "{}",
            diagnostic.message
        );
    }

    #[test]
    fn carriage_returns_end_lines() {
        assert_eq!(normalise_line_endings("a\rb\r\nc".into()), "a\nb\nc");
    }
}
