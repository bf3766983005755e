//! Label CSV files: a header line, then one line per image: the file name first (matched
//! against the image's base file name, so `faces/1_0_2.jpg` and `1_0_2.jpg` both match
//! the image `sub/1_0_2.jpg`), then one number per label column, e.g.
//!
//! ```text
//! file,age,gender,race
//! 100_0_0_20170112213500903.jpg,100,0,0
//! ```
//!
//! Fields may be quoted (`"a,b.jpg"`, with `""` for a quote inside); blank lines are
//! ignored; a UTF-8 byte-order mark is allowed. Fields may not span lines.

use std::collections::HashMap;

use crate::error::DataError;

/// Labels of a CSV file, by base file name.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelFile {
    /// The label column names (the header without its first column).
    pub columns: Vec<String>,
    /// Label values by base file name.
    pub rows: HashMap<String, Vec<f32>>,
}

impl LabelFile {
    /// The label row of the image named `name` (a path inside the source), matched by
    /// base file name.
    pub fn row_for(&self, name: &str) -> Option<&Vec<f32>> {
        self.rows.get(base_name(name))
    }
}

/// The last `/`-separated component of `name`.
pub fn base_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Splits one CSV line into trimmed fields, honouring double quotes.
pub fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted field is not closed".into()),
                }
            }
            while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                chars.next();
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(c) => return Err(format!("`{c}` after a closing quote")),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field.trim().to_string());
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => return Err("a quote inside an unquoted field".into()),
                    Some(c) => field.push(c),
                }
            }
            fields.push(field.trim().to_string());
        }
    }
}

/// Parses CSV text; `path` names the file in errors, which also give the line number.
pub fn parse_labels(text: &str, path: &str) -> Result<LabelFile, DataError> {
    let err = |line: usize, message: String| DataError::Labels {
        path: path.to_string(),
        line,
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let (header_line, header) = lines.next().ok_or_else(|| {
        err(
            1,
            "the file is empty; it needs a header like `file,age`".into(),
        )
    })?;
    let header = split_csv_line(header).map_err(|m| err(header_line, m))?;
    if header.len() < 2 {
        return Err(err(
            header_line,
            "the header needs the file column and at least one label column".into(),
        ));
    }
    if let Some(i) = header.iter().position(|c| c.is_empty()) {
        return Err(err(header_line, format!("column {} has no name", i + 1)));
    }
    let columns: Vec<String> = header[1..].to_vec();
    let mut rows = HashMap::new();
    for (line, text) in lines {
        let fields = split_csv_line(text).map_err(|m| err(line, m))?;
        if fields.len() != header.len() {
            return Err(err(
                line,
                format!("{} fields, the header has {}", fields.len(), header.len()),
            ));
        }
        if fields[0].is_empty() {
            return Err(err(line, "the file name is empty".into()));
        }
        let values = fields[1..]
            .iter()
            .zip(&columns)
            .map(|(f, c)| {
                f.parse::<f32>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| err(line, format!("column `{c}`: `{f}` is not a number")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let name = base_name(&fields[0]).to_string();
        if rows.insert(name.clone(), values).is_some() {
            return Err(err(line, format!("`{name}` has a second row")));
        }
    }
    Ok(LabelFile { columns, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_and_plain_fields() {
        assert_eq!(split_csv_line("a, b ,c").unwrap(), ["a", "b", "c"]);
        assert_eq!(
            split_csv_line(r#""x,y.jpg", "say ""hi""",3"#).unwrap(),
            ["x,y.jpg", r#"say "hi""#, "3"]
        );
        assert_eq!(split_csv_line("a,,").unwrap(), ["a", "", ""]);
        assert!(split_csv_line(r#""open,1"#).is_err());
        assert!(split_csv_line(r#""a"b,1"#).is_err());
        assert!(split_csv_line(r#"a"b,1"#).is_err());
    }

    #[test]
    fn parses_rows_by_base_name() {
        let text = "\u{feff}file,age,gender\r\n\r\nfaces/a.jpg,30,1\r\n\"b.jpg\",4.5,0\r\n";
        let l = parse_labels(text, "l.csv").unwrap();
        assert_eq!(l.columns, ["age", "gender"]);
        assert_eq!(l.rows["a.jpg"], vec![30.0, 1.0]);
        assert_eq!(l.row_for("x/y/b.jpg"), Some(&vec![4.5, 0.0]));
        assert_eq!(l.row_for("c.jpg"), None);
    }

    #[test]
    fn errors_name_the_line() {
        let msg = |text: &str| parse_labels(text, "l.csv").unwrap_err().to_string();
        assert_eq!(
            msg("file,age\na.jpg,30\n\nb.jpg,old\n"),
            "labels l.csv, line 4: column `age`: `old` is not a number"
        );
        assert_eq!(
            msg("file,age\na.jpg,1,2\n"),
            "labels l.csv, line 2: 3 fields, the header has 2"
        );
        assert_eq!(
            msg("file,age\na.jpg,1\na.jpg,2\n"),
            "labels l.csv, line 3: `a.jpg` has a second row"
        );
        assert!(msg("").contains("line 1: the file is empty"));
        assert!(msg("file\n").contains("line 1: the header needs"));
        assert!(msg("file,age\na.jpg,inf\n").contains("line 2"));
        assert!(msg("file,age\na.jpg,\n").contains("line 2: column `age`: `` is not"));
        assert!(msg("file,age\n\"a.jpg,3\n").contains("line 2: a quoted field"));
    }
}
