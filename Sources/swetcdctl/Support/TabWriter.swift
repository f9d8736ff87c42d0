/// Elastic tab stops as Go's `text/tabwriter` computes them, for etcdctl's help pages (which
/// use minwidth 0, tabwidth 8, padding 1 and tabs as padding).
///
/// Text is cut into cells at tabs; a column's width is that of its widest cell in a block of
/// consecutive lines that all have that column, plus the padding, rounded up to a tab stop.
/// A line without tabs ends every block.
struct TabWriter {
    var minWidth = 0
    var tabWidth = 8
    var padding = 1

    private struct Cell {
        var text: Substring
        var width: Int
    }

    func format(_ text: String) -> String {
        var output = ""
        var pending: [[Cell]] = []
        // Lines are cut at '\n'; the part after the last '\n' (if any) is a line without end.
        let rawLines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, raw) in rawLines.enumerated() {
            let isLast = index == rawLines.count - 1
            if isLast && raw.isEmpty { break }
            let cells = raw.split(separator: "\t", omittingEmptySubsequences: false)
                .map { Cell(text: $0, width: $0.count) }
            pending.append(cells)
            if cells.count == 1 {
                output += render(pending, terminated: !isLast)
                pending = []
            }
        }
        if !pending.isEmpty { output += render(pending, terminated: true) }
        return output
    }

    /// Formats a block of lines (the last one possibly without newline).
    private func render(_ lines: [[Cell]], terminated: Bool) -> String {
        var widths: [Int] = []
        var out = ""
        formatColumns(lines, 0, lines.count, &widths, &out)
        if !terminated, out.hasSuffix("\n") { out.removeLast() }
        return out
    }

    private func formatColumns(_ lines: [[Cell]], _ start: Int, _ end: Int, _ widths: inout [Int], _ out: inout String) {
        let column = widths.count
        var line0 = start
        var this = start
        while this < end {
            if column >= lines[this].count - 1 {
                this += 1
                continue
            }
            writeLines(lines, line0, this, widths, &out)
            line0 = this
            var width = minWidth
            while this < end, column < lines[this].count - 1 {
                width = max(width, lines[this][column].width + padding)
                this += 1
            }
            widths.append(width)
            formatColumns(lines, line0, this, &widths, &out)
            widths.removeLast()
            line0 = this
        }
        writeLines(lines, line0, end, widths, &out)
    }

    private func writeLines(_ lines: [[Cell]], _ start: Int, _ end: Int, _ widths: [Int], _ out: inout String) {
        guard start < end else { return }
        for line in lines[start..<end] {
            for (j, cell) in line.enumerated() {
                out += cell.text
                if j < widths.count { out += padding(textWidth: cell.width, cellWidth: widths[j]) }
            }
            out += "\n"
        }
    }

    private func padding(textWidth: Int, cellWidth: Int) -> String {
        let rounded = (cellWidth + tabWidth - 1) / tabWidth * tabWidth
        let gap = rounded - textWidth
        return String(repeating: "\t", count: (gap + tabWidth - 1) / tabWidth)
    }
}

/// Tables as github.com/olekukonko/tablewriter draws them for etcdctl (`-w table`): upper-case
/// centred headers, right-aligned cells, `+`, `-` and `|` borders.
struct TableWriter {
    var header: [String]
    var rows: [[String]] = []

    func render() -> String {
        let titles = header.map { $0.uppercased() }
        var widths = titles.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        let border = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+\n"
        var out = border
        out += "|" + titles.enumerated().map { index, title in
            let gap = widths[index] - title.count
            let left = gap / 2
            return " " + String(repeating: " ", count: left) + title + String(repeating: " ", count: gap - left) + " "
        }.joined(separator: "|") + "|\n"
        out += border
        for row in rows {
            out += "|" + widths.indices.map { index in
                let cell = index < row.count ? row[index] : ""
                return " " + String(repeating: " ", count: widths[index] - cell.count) + cell + " "
            }.joined(separator: "|") + "|\n"
        }
        out += border
        return out
    }
}
