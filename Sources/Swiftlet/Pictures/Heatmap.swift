import Foundation

/// A matrix drawn as coloured cells, with row and column labels and a title.
///
/// Masked cells (above the diagonal under ``Mask/causal``, and any NaN) are drawn in the neutral
/// grey ``RGB/masked`` so that, say, the causal triangle of an attention map stays visible.
public struct Heatmap: Picture, Sendable {
    /// Which cells hold no value.
    public enum Mask: Sendable {
        case none
        /// Cells with column > row: keys after the query in causal attention.
        case causal
    }

    /// Rows × columns.
    public var values: [[Double]]
    public var title: String
    /// One label per row (tokens, say); nil numbers the rows.
    public var rowLabels: [String]?
    /// One label per column; nil numbers the columns.
    public var columnLabels: [String]?
    public var rowAxisLabel: String
    public var columnAxisLabel: String
    public var mask: Mask

    /// - Throws: ``PictureError/invalidArgument(_:)`` for an empty or ragged matrix, or label
    ///   counts that differ from the matrix size.
    public init(values: [[Double]], title: String = "", rowLabels: [String]? = nil, columnLabels: [String]? = nil,
                rowAxisLabel: String = "", columnAxisLabel: String = "", mask: Mask = .none) throws {
        guard let columns = values.first?.count, columns > 0 else {
            throw PictureError.invalidArgument("heatmap '\(title)': values must have at least one row and column")
        }
        if let row = values.firstIndex(where: { $0.count != columns }) {
            throw PictureError.invalidArgument(
                "heatmap '\(title)': row \(row) has \(values[row].count) values, row 0 has \(columns)")
        }
        if let rowLabels, rowLabels.count != values.count {
            throw PictureError.invalidArgument("heatmap '\(title)': \(rowLabels.count) row labels for \(values.count) rows")
        }
        if let columnLabels, columnLabels.count != columns {
            throw PictureError.invalidArgument("heatmap '\(title)': \(columnLabels.count) column labels for \(columns) columns")
        }
        (self.values, self.title, self.rowLabels, self.columnLabels) = (values, title, rowLabels, columnLabels)
        (self.rowAxisLabel, self.columnAxisLabel, self.mask) = (rowAxisLabel, columnAxisLabel, mask)
    }

    public var rowCount: Int { values.count }
    public var columnCount: Int { values.first?.count ?? 0 }

    /// Whether cell (row, column) is drawn in the neutral masked colour.
    public func isMasked(row: Int, column: Int) -> Bool {
        (mask == .causal && column > row) || values[row][column].isNaN
    }

    public func render() -> Canvas { HeatmapGrid(panels: [self]).render() }
}

/// Several heatmaps in a grid with one shared colour scale and colour bar (e.g. the heads of a layer).
public struct HeatmapGrid: Picture, Sendable {
    public var panels: [Heatmap]
    /// Panels per grid row.
    public var columns: Int
    public var title: String
    public var colorMap: ColorMap
    /// The values mapped to the ends of the colour map; nil uses the unmasked data's extent.
    public var range: ClosedRange<Double>?
    public var colorBarLabel: String
    /// Pixels per cell; nil sizes cells so each matrix is a few hundred pixels across.
    public var cellWidth: Int?, cellHeight: Int?
    /// Longest row/column label in characters before it is cut with `…`.
    public var maximumLabelLength: Int
    public var textScale: Int

    public init(panels: [Heatmap], columns: Int? = nil, title: String = "", colorMap: ColorMap = .viridis,
                range: ClosedRange<Double>? = nil, colorBarLabel: String = "", cellWidth: Int? = nil,
                cellHeight: Int? = nil, maximumLabelLength: Int = 10, textScale: Int = 2) {
        self.panels = panels
        self.columns = max(1, columns ?? Int(Double(panels.count).squareRoot().rounded(.up)))
        (self.title, self.colorMap, self.range, self.colorBarLabel) = (title, colorMap, range, colorBarLabel)
        (self.cellWidth, self.cellHeight, self.maximumLabelLength) = (cellWidth, cellHeight, maximumLabelLength)
        self.textScale = max(1, textScale)
    }

    /// The value range the colours span: ``range`` if set, else the unmasked finite values' extent.
    public var colorRange: ClosedRange<Double> {
        if let range, range.upperBound > range.lowerBound { return range }
        var low = Double.infinity, high = -Double.infinity
        for panel in panels {
            for row in 0..<panel.rowCount {
                for column in 0..<panel.columnCount where !panel.isMasked(row: row, column: column) {
                    let value = panel.values[row][column]
                    if value.isFinite { (low, high) = (min(low, value), max(high, value)) }
                }
            }
        }
        guard low.isFinite else { return 0...1 }
        return high > low ? low...high : (low - 0.5)...(high + 0.5)
    }

    public func render() -> Canvas {
        let s = textScale, textHeight = BitmapFont.height(scale: s), padding = 8 * s
        guard !panels.isEmpty else { return Canvas(width: 1, height: 1) }
        let rows = panels.map(\.rowCount).max() ?? 1, columnsPerPanel = panels.map(\.columnCount).max() ?? 1
        let target = panels.count == 1 ? 480 : panels.count <= 4 ? 320 : 200
        let cellW = cellWidth ?? min(32, max(2, target / columnsPerPanel))
        let cellH = cellHeight ?? min(32, max(2, target / rows))
        let labelScale = min(cellW, cellH) >= 16 ? s : 1
        let layouts = panels.map { PanelLayout($0, cellWidth: cellW, cellHeight: cellH, labelScale: labelScale,
                                               textScale: s, maximumLabelLength: maximumLabelLength) }
        // Every panel gets the same box so matrices line up across the grid.
        let left = layouts.map(\.left).max() ?? 0, top = layouts.map(\.top).max() ?? 0
        let matrixWidth = cellW * columnsPerPanel, matrixHeight = cellH * rows
        let below = layouts.map(\.below).max() ?? 0
        let boxWidth = left + matrixWidth + padding * 2, boxHeight = top + matrixHeight + below + padding
        let gridRows = (panels.count + columns - 1) / columns
        let gridTop = padding + (title.isEmpty ? 0 : textHeight + padding)
        let gridWidth = boxWidth * min(columns, panels.count)
        var canvas = Canvas(width: padding + gridWidth + 400, height: gridTop + boxHeight * gridRows + padding)

        let range = colorRange
        for (index, panel) in panels.enumerated() {
            let origin = (x: padding + (index % columns) * boxWidth, y: gridTop + (index / columns) * boxHeight)
            layouts[index].draw(panel, on: &canvas, matrixAt: (origin.x + left, origin.y + top),
                                colors: { colorMap.color(for: $0, in: range) })
        }
        if !title.isEmpty { canvas.drawText(title, centerX: padding + gridWidth / 2, y: padding, scale: s) }
        let bar = PixelRect(x: padding + gridWidth, y: gridTop + top, width: 5 * s,
                            height: boxHeight * (gridRows - 1) + matrixHeight)
        let used = colorMap.drawColorBar(on: &canvas, in: bar, range: range,
                                         label: colorBarLabel.isEmpty ? nil : colorBarLabel, scale: s)
        return canvas.cropped(toWidth: bar.x + used + 2 * padding)
    }
}

/// Where one heatmap's labels go around its matrix, and which labels are shown.
private struct PanelLayout {
    let cellWidth: Int, cellHeight: Int, labelScale: Int, textScale: Int
    let rowLabels: [(index: Int, text: String)], columnLabels: [(index: Int, text: String)]
    /// Column labels run upward (tokens) rather than across (numbers).
    let columnLabelsRotated: Bool
    /// Pixels left of, above and below the matrix taken by labels and the title.
    let left: Int, top: Int, below: Int

    init(_ panel: Heatmap, cellWidth: Int, cellHeight: Int, labelScale: Int, textScale: Int, maximumLabelLength: Int) {
        (self.cellWidth, self.cellHeight, self.labelScale, self.textScale) = (cellWidth, cellHeight, labelScale, textScale)
        let gap = 4 * textScale
        func shown(_ labels: [String]?, count: Int, cell: Int, spacing: Int) -> [(index: Int, text: String)] {
            if let labels {
                let every = max(1, (spacing + cell - 1) / cell)
                return stride(from: 0, to: count, by: every).map {
                    ($0, BitmapFont.visibleLabel(labels[$0], maximumLength: maximumLabelLength))
                }
            }
            // Numbered axes: a tick every 1, 2 or 5 × 10^k cells, as on a chart axis.
            var every = 1, step = 0
            while every * cell < spacing {
                step += 1
                every = [1, 2, 5][step % 3] * Int(pow(10, Double(step / 3)))
            }
            return stride(from: 0, to: count, by: every).map { ($0, String($0)) }
        }
        let labelHeight = BitmapFont.height(scale: panel.rowLabels == nil ? textScale : labelScale)
        rowLabels = shown(panel.rowLabels, count: panel.rowCount, cell: cellHeight, spacing: labelHeight + 2)
        columnLabelsRotated = panel.columnLabels != nil
        let columnScale = panel.columnLabels == nil ? textScale : labelScale
        let columnSpacing = columnLabelsRotated ? BitmapFont.height(scale: labelScale) + 2
            : BitmapFont.width(of: String(panel.columnCount), scale: textScale) + 8 * textScale
        columnLabels = shown(panel.columnLabels, count: panel.columnCount, cell: cellWidth, spacing: columnSpacing)

        let rowScale = panel.rowLabels == nil ? textScale : labelScale
        let rowLabelWidth = rowLabels.map { BitmapFont.width(of: $0.text, scale: rowScale) }.max() ?? 0
        let axisHeight = BitmapFont.height(scale: textScale)
        left = (panel.rowAxisLabel.isEmpty ? 0 : axisHeight + 2 * gap) + rowLabelWidth + gap
        top = panel.title.isEmpty ? 0 : axisHeight + 2 * gap
        let columnLabelExtent = columnLabelsRotated
            ? columnLabels.map { BitmapFont.width(of: $0.text, scale: columnScale) }.max() ?? 0
            : BitmapFont.height(scale: columnScale)
        below = gap + columnLabelExtent + (panel.columnAxisLabel.isEmpty ? 0 : 2 * gap + axisHeight)
    }

    func draw(_ panel: Heatmap, on canvas: inout Canvas, matrixAt origin: (x: Int, y: Int), colors: (Double) -> RGB) {
        let gap = 4 * textScale
        let matrixWidth = cellWidth * panel.columnCount, matrixHeight = cellHeight * panel.rowCount
        for row in 0..<panel.rowCount {
            for column in 0..<panel.columnCount {
                let color = panel.isMasked(row: row, column: column) ? RGB.masked : colors(panel.values[row][column])
                canvas.fillRectangle(PixelRect(x: origin.x + column * cellWidth, y: origin.y + row * cellHeight,
                                               width: cellWidth, height: cellHeight), color: color)
            }
        }
        canvas.strokeRectangle(PixelRect(x: origin.x - 1, y: origin.y - 1, width: matrixWidth + 2, height: matrixHeight + 2),
                               color: .axis)
        if !panel.title.isEmpty {
            canvas.drawText(panel.title, centerX: origin.x + matrixWidth / 2, y: origin.y - gap - BitmapFont.height(scale: textScale),
                            scale: textScale)
        }
        let rowScale = panel.rowLabels == nil ? textScale : labelScale
        var rowLabelWidth = 0
        for (index, text) in rowLabels {
            let width = BitmapFont.width(of: text, scale: rowScale)
            rowLabelWidth = max(rowLabelWidth, width)
            canvas.drawText(text, x: origin.x - gap - width,
                            y: origin.y + index * cellHeight + (cellHeight - BitmapFont.height(scale: rowScale)) / 2, scale: rowScale)
        }
        let columnScale = columnLabelsRotated ? labelScale : textScale
        var columnExtent = BitmapFont.height(scale: columnScale)
        for (index, text) in columnLabels {
            let center = origin.x + index * cellWidth + cellWidth / 2
            if columnLabelsRotated {
                let width = BitmapFont.width(of: text, scale: columnScale)
                columnExtent = max(columnExtent, width)
                canvas.drawText(text, x: center - BitmapFont.height(scale: columnScale) / 2,
                                y: origin.y + matrixHeight + gap + width, scale: columnScale, direction: .upward)
            } else {
                canvas.drawText(text, centerX: center, y: origin.y + matrixHeight + gap, scale: columnScale)
            }
        }
        let axisHeight = BitmapFont.height(scale: textScale)
        if !panel.columnAxisLabel.isEmpty {
            canvas.drawText(panel.columnAxisLabel, centerX: origin.x + matrixWidth / 2,
                            y: origin.y + matrixHeight + 3 * gap + columnExtent, scale: textScale)
        }
        if !panel.rowAxisLabel.isEmpty {
            canvas.drawText(panel.rowAxisLabel, x: origin.x - 3 * gap - rowLabelWidth - axisHeight,
                            y: origin.y + (matrixHeight + BitmapFont.width(of: panel.rowAxisLabel, scale: textScale)) / 2,
                            scale: textScale, direction: .upward)
        }
    }
}
