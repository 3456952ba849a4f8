import Foundation
import Testing
@testable import Swiftlet

@Suite("Heatmaps") struct HeatmapTests {
    /// The colour at the centre of cell (row, column) of a single-panel grid with fixed cell size.
    func cellColor(_ canvas: Canvas, grid: HeatmapGrid, row: Int, column: Int) -> RGB? {
        // Find the matrix: the first pixel (scanning down the middle column) that is not background/text.
        for y in 0..<canvas.height {
            for x in 0..<canvas.width {
                if let color = canvas.color(x: x, y: y), color != .white, color != .text, color != .axis,
                   canvas.color(x: x + 1, y: y + 1) == color, canvas.color(x: x + 2, y: y + 2) == color {
                    let cw = grid.cellWidth ?? 0, ch = grid.cellHeight ?? 0
                    return canvas.color(x: x + column * cw + cw / 2, y: y + row * ch + ch / 2)
                }
            }
        }
        return nil
    }

    @Test func causalMaskIsNeutralAndValuesFollowTheColorMap() throws {
        let values: [[Double]] = [[1, 0.3, 0.3], [0.5, 0.5, 0.3], [0, 0.5, 1]]
        let heatmap = try Heatmap(values: values, rowLabels: ["a", "b", "c"], columnLabels: ["a", "b", "c"], mask: .causal)
        #expect(heatmap.isMasked(row: 0, column: 1) && heatmap.isMasked(row: 1, column: 2))
        #expect(!heatmap.isMasked(row: 2, column: 0) && !heatmap.isMasked(row: 1, column: 1))
        let grid = HeatmapGrid(panels: [heatmap], range: 0...1, cellWidth: 20, cellHeight: 20)
        #expect(grid.colorRange == 0...1)
        let canvas = grid.render()
        #expect(cellColor(canvas, grid: grid, row: 0, column: 0) == ColorMap.viridis.color(at: 1))
        #expect(cellColor(canvas, grid: grid, row: 0, column: 2) == RGB.masked)
        #expect(cellColor(canvas, grid: grid, row: 1, column: 2) == RGB.masked)
        #expect(cellColor(canvas, grid: grid, row: 2, column: 0) == ColorMap.viridis.color(at: 0))
        #expect(cellColor(canvas, grid: grid, row: 1, column: 0) == ColorMap.viridis.color(at: 0.5))
    }

    @Test func colorRangeIgnoresMaskedAndNaNCells() throws {
        let heatmap = try Heatmap(values: [[2, 99], [.nan, 4]], mask: .causal)
        #expect(heatmap.isMasked(row: 1, column: 0))
        #expect(HeatmapGrid(panels: [heatmap]).colorRange == 2...4)
    }

    @Test func badShapesThrowClearErrors() {
        #expect(throws: PictureError.self) { try Heatmap(values: []) }
        #expect(throws: PictureError.self) { try Heatmap(values: [[1, 2], [3]]) }
        #expect(throws: PictureError.self) { try Heatmap(values: [[1, 2]], rowLabels: ["a", "b"]) }
        #expect(throws: PictureError.self) {
            try AttentionPlot(probabilities: [[[Float(1)]]], tokens: ["a", "b"], layer: 0)
        }
        #expect(throws: PictureError.self) {
            try AttentionPlot(flatProbabilities: [Float](repeating: 0, count: 7), headCount: 2, tokens: ["a", "b"], layer: 0)
        }
        #expect(throws: PictureError.self) { try PositionalEncodingPlot(flatValues: [1.0, 2, 3], positions: 2, dimensions: 2) }
    }

    @Test func flatAttentionMatchesNested() throws {
        let flat: [Float] = [1, 0, 0.4, 0.6, 1, 0, 0.9, 0.1]  // 2 heads × 2 × 2
        let plot = try AttentionPlot(flatProbabilities: flat, headCount: 2, tokens: ["x", " y"], layer: 1)
        #expect(plot.grid.panels.count == 2)
        #expect(plot.grid.panels[1].values == [[1, 0], [Double(Float(0.9)), Double(Float(0.1))]])
        #expect(plot.grid.panels[1].title == "layer 1 head 1")
        #expect(plot.grid.range == 0...1)
        #expect(try DecodedPNG(plot.png()).width > 0)
    }
}
