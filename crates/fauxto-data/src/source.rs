//! Where images come from: a folder (walked recursively) or a zip archive.
//!
//! Entries are listed in sorted path order (byte order of their `/`-separated names), so a
//! dataset does not depend on how the file system or the archive happened to order them.
//! Zip entries are only ever read out of the archive, never extracted; entries whose names
//! are absolute, carry a drive letter or backslashes, contain `..` components or NUL bytes
//! are refused: reported, and never read. Symbolic links inside a zip are refused too.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{io, DataError};
use crate::packed::Skipped;

/// Image file extensions the dataset tool reads (any case).
pub const IMAGE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "webp"];

/// Largest file the tool reads: a guard against archives that declare absurd sizes.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// A folder or a zip of images.
#[derive(Debug, Clone)]
pub enum Source {
    /// A folder, walked recursively.
    Folder(PathBuf),
    /// A zip archive.
    Zip(PathBuf),
}

/// One file of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path inside the source, `/`-separated, without `.` components.
    pub name: String,
    location: Location,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    File(PathBuf),
    ZipIndex(usize),
}

/// Whether `name` has one of the [`IMAGE_EXTENSIONS`].
pub fn is_image_name(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.ends_with('/') && IMAGE_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext))
    })
}

/// The safe form of a zip entry name (`/`-separated, `.` and empty components dropped),
/// or why it is refused.
pub fn sanitize_zip_name(raw: &str) -> Result<String, &'static str> {
    if raw.contains('\0') {
        return Err("refused: the entry name contains a NUL byte");
    }
    if raw.contains('\\') {
        return Err("refused: the entry name contains a backslash");
    }
    if raw.starts_with('/') {
        return Err("refused: the entry path is absolute");
    }
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return Err("refused: the entry path starts with a drive letter");
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("refused: the entry path climbs out with `..`"),
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err("refused: the entry has no file name");
    }
    Ok(parts.join("/"))
}

fn open_zip(path: &Path) -> Result<zip::ZipArchive<File>, DataError> {
    let file = File::open(path).map_err(io(path))?;
    zip::ZipArchive::new(file).map_err(|e| DataError::Source {
        path: path.display().to_string(),
        message: format!("not a readable zip archive: {e}"),
    })
}

impl Source {
    /// A folder, or a zip archive (recognised by its content, whatever its name).
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let err = |message: &str| DataError::Source {
            path: path.display().to_string(),
            message: message.into(),
        };
        if path.is_dir() {
            return Ok(Source::Folder(path.to_path_buf()));
        }
        if !path.exists() {
            return Err(err(
                "no such file or folder; give a folder of images or a .zip of images",
            ));
        }
        let mut magic = [0u8; 4];
        let mut file = File::open(path).map_err(io(path))?;
        let n = file.read(&mut magic).map_err(io(path))?;
        if n == 4 && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06") {
            open_zip(path)?;
            Ok(Source::Zip(path.to_path_buf()))
        } else {
            Err(err(
                "not a zip archive; give a folder of images or a .zip of images",
            ))
        }
    }

    /// All files of the source (not only images) sorted by name, and the entries
    /// refused for their names or kinds.
    pub fn entries(&self) -> Result<(Vec<Entry>, Vec<Skipped>), DataError> {
        let mut entries = Vec::new();
        let mut refused = Vec::new();
        match self {
            Source::Folder(root) => walk(root, root, &mut entries, &mut refused)?,
            Source::Zip(path) => {
                let archive = open_zip(path)?;
                for index in 0..archive.len() {
                    let file = archive
                        .by_index_data(index)
                        .map_err(|e| DataError::Source {
                            path: path.display().to_string(),
                            message: format!("zip entry {index}: {e}"),
                        })?;
                    let raw = match file.name() {
                        Ok(name) => name.into_owned(),
                        Err(_) => String::from_utf8_lossy(file.name_raw()).into_owned(),
                    };
                    if file.is_dir() {
                        continue;
                    }
                    let reason = if file.is_symlink() {
                        Err("refused: the entry is a symbolic link")
                    } else if file.encrypted() {
                        Err("the entry is encrypted")
                    } else {
                        sanitize_zip_name(&raw)
                    };
                    match reason {
                        Ok(name) => entries.push(Entry {
                            name,
                            location: Location::ZipIndex(index),
                        }),
                        Err(reason) => refused.push(Skipped {
                            name: raw,
                            reason: reason.into(),
                        }),
                    }
                }
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((entries, refused))
    }

    /// A reader for this source's entries; each thread uses its own.
    pub fn reader(&self) -> Result<SourceReader, DataError> {
        Ok(SourceReader {
            zip: match self {
                Source::Folder(_) => None,
                Source::Zip(path) => Some(open_zip(path)?),
            },
        })
    }
}

/// Reads the bytes of a source's entries.
pub struct SourceReader {
    zip: Option<zip::ZipArchive<File>>,
}

impl SourceReader {
    /// The bytes of `entry`, or why they cannot be read.
    pub fn read(&mut self, entry: &Entry) -> Result<Vec<u8>, String> {
        let too_large = |n: u64| format!("{n} bytes is too large (the limit is {MAX_FILE_BYTES})");
        match (&entry.location, &mut self.zip) {
            (Location::File(path), _) => {
                let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
                let len = file.metadata().map_err(|e| e.to_string())?.len();
                if len > MAX_FILE_BYTES {
                    return Err(too_large(len));
                }
                let mut bytes = Vec::with_capacity(len as usize);
                file.take(MAX_FILE_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| format!("cannot read: {e}"))?;
                Ok(bytes)
            }
            (Location::ZipIndex(index), Some(archive)) => {
                let file = archive
                    .by_index(*index)
                    .map_err(|e| format!("cannot read from the archive: {e}"))?;
                if file.size() > MAX_FILE_BYTES {
                    return Err(too_large(file.size()));
                }
                let mut bytes = Vec::with_capacity(file.size() as usize);
                file.take(MAX_FILE_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| format!("cannot read from the archive: {e}"))?;
                if bytes.len() as u64 > MAX_FILE_BYTES {
                    return Err(too_large(bytes.len() as u64));
                }
                Ok(bytes)
            }
            (Location::ZipIndex(_), None) => Err("a zip entry read from a folder source".into()),
        }
    }
}

/// Walks `dir` below `root`. Symbolic links to files are followed; links to folders are
/// not (they could loop), and are reported.
fn walk(
    root: &Path,
    dir: &Path,
    out: &mut Vec<Entry>,
    refused: &mut Vec<Skipped>,
) -> Result<(), DataError> {
    for item in std::fs::read_dir(dir).map_err(io(dir))? {
        let item = item.map_err(io(dir))?;
        let path = item.path();
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace(std::path::MAIN_SEPARATOR, "/");
        let kind = item.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            walk(root, &path, out, refused)?;
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            out.push(Entry {
                name,
                location: Location::File(path),
            });
        } else if kind.is_symlink() && path.is_dir() {
            refused.push(Skipped {
                name,
                reason: "symbolic link to a folder: not followed".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_by_extension() {
        assert!(is_image_name("a/b/FACE.JPG"));
        assert!(is_image_name("x.webp"));
        assert!(is_image_name("x.y.Jpeg"));
        assert!(!is_image_name("labels.csv"));
        assert!(!is_image_name("png"));
        assert!(!is_image_name("dir/.png"));
        assert!(!is_image_name("x.png.txt"));
    }

    #[test]
    fn zip_names_are_sanitised() {
        assert_eq!(sanitize_zip_name("faces/a.jpg"), Ok("faces/a.jpg".into()));
        assert_eq!(
            sanitize_zip_name("./faces//a.jpg"),
            Ok("faces/a.jpg".into())
        );
        for evil in [
            "../evil.png",
            "faces/../../evil.png",
            "faces/../a.png",
            "/abs.png",
            "//server/share/a.png",
            "C:/win.png",
            "c:evil.png",
            "..\\evil.png",
            "faces\\a.png",
            "a.png\0.txt",
            "..",
            "./",
            "",
        ] {
            assert!(sanitize_zip_name(evil).is_err(), "{evil:?} accepted");
        }
        assert!(sanitize_zip_name("/abs.png")
            .unwrap_err()
            .contains("absolute"));
        assert!(sanitize_zip_name("a/../b.png").unwrap_err().contains(".."));
    }

    #[test]
    fn folders_are_listed_sorted_and_recursively() {
        let dir = std::env::temp_dir().join(format!("fauxto-data-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("b/c")).unwrap();
        for name in ["z.png", "b/c/a.jpg", "b/x.txt", "a.png"] {
            std::fs::write(dir.join(name), name).unwrap();
        }
        let source = Source::open(&dir).unwrap();
        let (entries, refused) = source.entries().unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.png", "b/c/a.jpg", "b/x.txt", "z.png"]);
        assert!(refused.is_empty());
        let mut reader = source.reader().unwrap();
        assert_eq!(reader.read(&entries[1]).unwrap(), b"b/c/a.jpg");
        let err = Source::open(&dir.join("a.png")).unwrap_err().to_string();
        assert!(err.contains("not a zip archive"), "{err}");
        let err = Source::open(&dir.join("nope")).unwrap_err().to_string();
        assert!(err.contains("no such file or folder"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
