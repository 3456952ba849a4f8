/// Attention probabilities of one layer as heatmaps: query tokens down, key tokens across, one
/// panel per head in a grid, keys after the query (the causal mask) in neutral grey.
public struct AttentionPlot: Picture, Sendable {
    public var grid: HeatmapGrid

    /// - Parameters:
    ///   - probabilities: heads × T × T, row = query position, column = key position.
    ///   - tokens: the T tokens, used as labels on both axes (whitespace shown as `·`/`↵`).
    ///   - layer: the layer index, used in titles.
    ///   - heads: the head index of each matrix in `probabilities`; defaults to 0, 1, 2, …
    ///   - causal: grey out the cells above the diagonal.
    /// - Throws: ``PictureError/invalidArgument(_:)`` when a matrix is not T × T.
    public init<F: BinaryFloatingPoint>(probabilities: [[[F]]], tokens: [String], layer: Int, heads: [Int]? = nil,
                                        causal: Bool = true, columns: Int? = nil) throws {
        let heads = heads ?? Array(probabilities.indices)
        guard heads.count == probabilities.count else {
            throw PictureError.invalidArgument("attention plot: \(heads.count) head indices for \(probabilities.count) matrices")
        }
        let panels = try zip(heads, probabilities).map { head, matrix in
            guard matrix.count == tokens.count, matrix.allSatisfy({ $0.count == tokens.count }) else {
                throw PictureError.invalidArgument(
                    "attention plot: layer \(layer) head \(head) must be \(tokens.count)×\(tokens.count) "
                        + "(one row and one column per token)")
            }
            return try Heatmap(values: doubles(matrix), title: "layer \(layer) head \(head)",
                               rowLabels: tokens, columnLabels: tokens, rowAxisLabel: "query", columnAxisLabel: "key",
                               mask: causal ? .causal : .none)
        }
        let title = panels.count == 1 ? "" : "attention, layer \(layer)"
        grid = HeatmapGrid(panels: panels, columns: columns, title: title, range: nil, colorBarLabel: "probability")
        // Probabilities start at 0; the top is the largest one shown so faint patterns stay visible.
        grid.range = 0...max(grid.colorRange.upperBound, 1e-6)
    }

    /// All heads of a layer from one flat array laid out heads × T × T (the model's layout).
    public init<F: BinaryFloatingPoint>(flatProbabilities: [F], headCount: Int, tokens: [String], layer: Int,
                                        causal: Bool = true, columns: Int? = nil) throws {
        let t = tokens.count
        guard headCount > 0, t > 0, flatProbabilities.count == headCount * t * t else {
            throw PictureError.invalidArgument("attention plot: expected \(headCount) heads × \(t) × \(t) = "
                + "\(headCount * t * t) probabilities, got \(flatProbabilities.count)")
        }
        let matrices = (0..<headCount).map { head in
            (0..<t).map { query in Array(flatProbabilities[(head * t + query) * t..<(head * t + query + 1) * t]) }
        }
        try self.init(probabilities: matrices, tokens: tokens, layer: layer, causal: causal, columns: columns)
    }

    public func render() -> Canvas { grid.render() }
}

/// A positional-encoding matrix as a heatmap: position down, embedding dimension across.
public struct PositionalEncodingPlot: Picture, Sendable {
    public var heatmap: HeatmapGrid

    /// - Parameter values: positions × dimensions (learned `wpe` or sinusoidal).
    public init<F: BinaryFloatingPoint>(values: [[F]], title: String = "positional encoding") throws {
        let panel = try Heatmap(values: doubles(values), rowAxisLabel: "position",
                                columnAxisLabel: "dimension")
        heatmap = HeatmapGrid(panels: [panel], title: title, colorBarLabel: "value")
    }

    /// From a flat positions × dimensions array (row-major).
    public init<F: BinaryFloatingPoint>(flatValues: [F], positions: Int, dimensions: Int,
                                        title: String = "positional encoding") throws {
        guard positions > 0, dimensions > 0, flatValues.count == positions * dimensions else {
            throw PictureError.invalidArgument("positional encoding plot: expected \(positions) × \(dimensions) = "
                + "\(positions * dimensions) values, got \(flatValues.count)")
        }
        try self.init(values: (0..<positions).map { Array(flatValues[$0 * dimensions..<($0 + 1) * dimensions]) }, title: title)
    }

    public func render() -> Canvas { heatmap.render() }
}

/// A matrix of any floating-point type as Doubles.
private func doubles<F: BinaryFloatingPoint>(_ matrix: [[F]]) -> [[Double]] {
    var result: [[Double]] = []
    result.reserveCapacity(matrix.count)
    for row in matrix { result.append(row.map { Double($0) }) }
    return result
}
