import Testing
@testable import Swiftlet

@Suite("Canvas and font") struct CanvasTests {
    @Test func filledRectangleHasItsColourAndNothingElseChanges() {
        var canvas = Canvas(width: 20, height: 10)
        let red = RGB(hex: 0xD62728)
        canvas.fillRectangle(PixelRect(x: 3, y: 2, width: 5, height: 4), color: red)
        for y in 0..<10 {
            for x in 0..<20 {
                let inside = (3..<8).contains(x) && (2..<6).contains(y)
                #expect(canvas.color(x: x, y: y) == (inside ? red : .white))
            }
        }
        canvas.fillRectangle(PixelRect(x: -5, y: -5, width: 100, height: 7), color: .black)  // clipped, no trap
        #expect(canvas.color(x: 19, y: 0) == .black && canvas.color(x: 0, y: 9) == .white)
    }

    @Test func strokedRectangleIsHollow() {
        var canvas = Canvas(width: 10, height: 10)
        canvas.strokeRectangle(PixelRect(x: 1, y: 1, width: 8, height: 8), color: .black)
        #expect(canvas.color(x: 1, y: 1) == .black && canvas.color(x: 8, y: 8) == .black && canvas.color(x: 8, y: 4) == .black)
        #expect(canvas.color(x: 4, y: 4) == .white && canvas.color(x: 0, y: 0) == .white)
    }

    @Test func linesCoverTheirPathAndRespectTheClip() {
        var canvas = Canvas(width: 30, height: 30)
        canvas.drawLine(from: CanvasPoint(x: 0, y: 15.5), to: CanvasPoint(x: 30, y: 15.5), color: .black)
        #expect(canvas.color(x: 12, y: 15) == .black)
        #expect(canvas.color(x: 12, y: 14) == .white && canvas.color(x: 12, y: 16) == .white)  // crisp, one pixel wide
        canvas.drawLine(from: CanvasPoint(x: 2, y: 2), to: CanvasPoint(x: 28, y: 28), color: .black, width: 2)
        #expect(canvas.color(x: 20, y: 20) == .black)
        let edge = canvas.color(x: 21, y: 19)
        #expect(edge != .black && edge != .white)  // anti-aliased edge
        canvas.clip = PixelRect(x: 0, y: 0, width: 10, height: 30)
        canvas.drawLine(from: CanvasPoint(x: 0, y: 5.5), to: CanvasPoint(x: 30, y: 5.5), color: .black)
        #expect(canvas.color(x: 5, y: 5) == .black && canvas.color(x: 15, y: 5) == .white)
        canvas.drawLine(from: CanvasPoint(x: .nan, y: 0), to: CanvasPoint(x: 1e300, y: 3), color: .black)  // ignored
    }

    @Test func dashedLinesHaveGaps() {
        var canvas = Canvas(width: 40, height: 3)
        canvas.drawDashedLine(from: CanvasPoint(x: 0, y: 1.5), to: CanvasPoint(x: 40, y: 1.5), color: .black, dash: 6, gap: 4)
        #expect(canvas.color(x: 2, y: 1) == .black && canvas.color(x: 12, y: 1) == .black)
        #expect(canvas.color(x: 8, y: 1) == .white && canvas.color(x: 18, y: 1) == .white)
    }

    @Test func textStaysInsideItsBoxAndRotates() {
        var canvas = Canvas(width: 60, height: 40)
        canvas.drawText("Hi!", x: 10, y: 5, scale: 2)
        let width = BitmapFont.width(of: "Hi!", scale: 2), height = BitmapFont.height(scale: 2)
        var inked = 0
        for y in 0..<40 {
            for x in 0..<60 where canvas.color(x: x, y: y) != .white {
                inked += 1
                #expect((10..<10 + width).contains(x) && (5..<5 + height).contains(y))
            }
        }
        #expect(inked > 20)
        // 'H' has a full-height left stem: rotated upward it becomes a bottom row starting at (x, y - 1).
        var rotated = Canvas(width: 20, height: 20)
        rotated.drawText("H", x: 5, y: 15, direction: .upward)
        #expect(rotated.color(x: 5, y: 14) == .text && rotated.color(x: 11, y: 14) == .text)
        #expect(rotated.color(x: 5, y: 15) == .white)
    }

    @Test func visibleLabelsShowWhitespaceAndTruncate() {
        #expect(BitmapFont.visibleLabel(" the", maximumLength: 10) == "·the")
        #expect(BitmapFont.visibleLabel("\n\t", maximumLength: 10) == "↵→")
        #expect(BitmapFont.visibleLabel(" extraordinarily", maximumLength: 8) == "·extrao…")
        #expect(BitmapFont.visibleLabel("a\u{7}", maximumLength: 8) == "a?")
        #expect(BitmapFont.columns(of: "é") == BitmapFont.columns(of: "€"))  // the placeholder box
        #expect(BitmapFont.columns(of: "A") != BitmapFont.columns(of: "é"))
    }

    @Test func croppingKeepsTheLeftColumns() {
        var canvas = Canvas(width: 8, height: 3)
        canvas.blend(x: 2, y: 1, color: .black)
        let cropped = canvas.cropped(toWidth: 4)
        #expect(cropped.width == 4 && cropped.height == 3 && cropped.color(x: 2, y: 1) == .black)
        #expect(cropped.pixels.count == 4 * 3 * 3)
    }
}
