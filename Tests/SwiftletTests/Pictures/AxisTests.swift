import Testing
@testable import Swiftlet

@Suite("Axes and colour maps") struct AxisTests {
    @Test func logTicksArePowersOfTenWithMinorTicksBetween() {
        let ticks = AxisScale.log10.ticks(in: 0.8...1200)
        #expect(ticks.major == [1, 10, 100, 1000])
        #expect(ticks.minor.contains(2) && ticks.minor.contains(900) && !ticks.minor.contains(10))
        #expect(ticks.minor.allSatisfy { $0 >= 0.8 && $0 <= 1200 })
        #expect(ticks.major.map(ticks.label) == ["1", "10", "100", "1000"])
    }

    @Test func narrowLogRangesFallBackToOneTwoFive() {
        #expect(AxisScale.log10.ticks(in: 1.5...12).major == [2, 5, 10])
        let tiny = AxisScale.log10.ticks(in: 3...4)
        #expect(tiny.major.count >= 2 && tiny.major.allSatisfy { (3...4).contains($0) })
    }

    @Test func wideLogRangesThinTheLabels() {
        let ticks = AxisScale.log10.ticks(in: 1e-6...1e6, targetCount: 6)
        #expect(ticks.major.count <= 7 && ticks.major.contains(1))
        #expect(ticks.label(for: 1e-6) == "1e-6" && ticks.label(for: 1e6) == "1e6")
    }

    @Test func linearTicksAreNiceNumbers() {
        let ticks = AxisScale.linear.ticks(in: 1.13...10.9, targetCount: 5)
        #expect(ticks.major == [2, 4, 6, 8, 10])
        let fractions = AxisScale.linear.ticks(in: -0.95...0.95, targetCount: 4)
        #expect(fractions.major == [-0.5, 0, 0.5])
        #expect(fractions.major.map(fractions.label) == ["-0.5", "0", "0.5"])
        #expect(AxisScale.linear.ticks(in: 0...1, targetCount: 10).major.map { AxisScale.linear.ticks(in: 0...1, targetCount: 10).label(for: $0) }
            == ["0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0"])
    }

    @Test func explicitTicksAndBadRangesOnLogAxes() {
        let axis = ChartAxis(label: "T", scale: .log10, range: -1...100, ticks: [64, 128, 0, 1.5])
        let range = axis.drawnRange(for: [64, 128], margin: 0.02)
        #expect(range.lowerBound > 0 && range.contains(1.5) && range.contains(128))
        let ticks = axis.ticks(in: range, targetCount: 5)
        #expect(ticks.major == [64, 128, 1.5] && ticks.major.map(ticks.label) == ["64", "128", "1.5"])
        #expect(ChartAxis(label: "", scale: .log10).drawnRange(for: [], margin: 0) == 1...10)
        let empty = LineChart(title: "", xAxis: ChartAxis(label: "x", scale: .log10), yAxis: ChartAxis(label: "y", scale: .log10),
                              series: [], width: 200, height: 100)
        #expect(empty.render().width == 200)
    }

    @Test func domainsSkipValuesTheScaleCannotShow() {
        let domain = AxisScale.log10.domain(of: [-1, 0, .nan, 10, 1000])
        #expect(domain != nil && domain!.lowerBound < 10 && domain!.lowerBound > 1 && domain!.upperBound > 1000)
        #expect(AxisScale.log10.domain(of: [0, -3]) == nil)
        let flat = AxisScale.linear.domain(of: [5, 5])
        #expect(flat != nil && flat!.lowerBound < 5 && flat!.upperBound > 5)
    }

    @Test func viridisEndsAndMiddle() {
        #expect(ColorMap.viridis.color(at: 0) == RGB(hex: 0x440154))
        #expect(ColorMap.viridis.color(at: 1) == RGB(hex: 0xFDE725))
        #expect(ColorMap.viridis.color(at: 0.5) == RGB(hex: 0x21918C))
        #expect(ColorMap.viridis.color(at: 7) == RGB(hex: 0xFDE725) && ColorMap.viridis.color(at: .nan) == RGB(hex: 0x440154))
        #expect(ColorMap.magma.color(for: 3, in: 1...3) == RGB(hex: 0xFCFDBF))
    }

    @Test func lineChartDrawsSeriesInsideThePlot() {
        let chart = LineChart(title: "t", xAxis: ChartAxis(label: "x"), yAxis: ChartAxis(label: "y", scale: .log10),
                              series: [ChartSeries(name: "a", x: [0, 1, 2, 3], y: [1, 10, -5, 100], color: RGB(hex: 0xFF0000))],
                              width: 400, height: 300)
        let canvas = chart.render()
        let red = (0..<canvas.height).flatMap { y in (0..<canvas.width).filter { canvas.color(x: $0, y: y) == RGB(hex: 0xFF0000) } }
        #expect(red.count > 50)  // the line and its legend sample
    }
}
