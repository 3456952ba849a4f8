import Foundation

/// An 8-bit RGB colour.
public struct RGB: Equatable, Hashable, Sendable {
    public var red: UInt8, green: UInt8, blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        (self.red, self.green, self.blue) = (red, green, blue)
    }

    /// A colour from `0xRRGGBB`.
    public init(hex: UInt32) {
        self.init(red: UInt8(hex >> 16 & 0xFF), green: UInt8(hex >> 8 & 0xFF), blue: UInt8(hex & 0xFF))
    }

    /// This colour moved `amount` (0...1) of the way towards `other`.
    public func mixed(with other: RGB, amount: Double) -> RGB {
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) + (Double(b) - Double(a)) * amount).rounded()) }
        return RGB(red: mix(red, other.red), green: mix(green, other.green), blue: mix(blue, other.blue))
    }

    public static let white = RGB(hex: 0xFFFFFF), black = RGB(hex: 0x000000)
    public static let text = RGB(hex: 0x222222), axis = RGB(hex: 0x555555), grid = RGB(hex: 0xE6E6E6)
    /// The neutral grey of masked heatmap cells (not a colour any ``ColorMap`` produces).
    public static let masked = RGB(hex: 0xD9D9D9)
    /// Matplotlib's "tab10" palette: distinct, colour-blind-tolerant series colours.
    public static let palette: [RGB] = [0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD, 0x8C564B, 0xE377C2, 0x7F7F7F]
        .map { RGB(hex: $0) }
}

/// A point in canvas coordinates: x to the right, y down, pixel (i, j) covering [i, i+1)×[j, j+1).
public struct CanvasPoint: Equatable, Sendable {
    public var x: Double, y: Double
    public init(x: Double, y: Double) { (self.x, self.y) = (x, y) }
}

/// A rectangle of whole pixels.
public struct PixelRect: Equatable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) { (self.x, self.y, self.width, self.height) = (x, y, width, height) }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    func contains(x px: Int, y py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }
}

/// An RGB raster with anti-aliased drawing of lines, polylines, rectangles, circles and text.
///
/// Drawing outside the canvas (or outside ``clip`` when set) is silently cut off.
public struct Canvas: Picture, Sendable {
    public let width: Int, height: Int
    /// Row-major RGB bytes, top row first.
    public private(set) var pixels: [UInt8]
    /// When set, drawing only touches pixels inside this rectangle.
    public var clip: PixelRect?

    public init(width: Int, height: Int, background: RGB = .white) {
        self.width = max(1, width)
        self.height = max(1, height)
        pixels = [UInt8](repeating: 0, count: self.width * self.height * 3)
        for i in 0..<self.width * self.height {
            (pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]) = (background.red, background.green, background.blue)
        }
    }

    public func render() -> Canvas { self }

    /// The canvas as PNG bytes.
    public func png() -> Data { PNGEncoder.encodeValidated(pixels: pixels, width: width, height: height, colorType: .rgb) }

    /// The left `newWidth` columns of this canvas (all of it when `newWidth` is larger).
    public func cropped(toWidth newWidth: Int) -> Canvas {
        guard newWidth > 0, newWidth < width else { return self }
        var result = Canvas(width: newWidth, height: height)
        for y in 0..<height {
            result.pixels.replaceSubrange(3 * y * newWidth..<3 * (y + 1) * newWidth,
                                          with: pixels[3 * y * width..<3 * (y * width + newWidth)])
        }
        return result
    }

    /// The colour at (x, y); nil outside the canvas.
    public func color(x: Int, y: Int) -> RGB? {
        guard x >= 0, x < width, y >= 0, y < height else { return nil }
        let i = 3 * (y * width + x)
        return RGB(red: pixels[i], green: pixels[i + 1], blue: pixels[i + 2])
    }

    /// Paints `color` over pixel (x, y) with opacity `coverage` (0...1).
    public mutating func blend(x: Int, y: Int, color: RGB, coverage: Double = 1) {
        guard x >= 0, x < width, y >= 0, y < height, coverage > 0 else { return }
        if let clip, !clip.contains(x: x, y: y) { return }
        let i = 3 * (y * width + x)
        if coverage >= 1 {
            (pixels[i], pixels[i + 1], pixels[i + 2]) = (color.red, color.green, color.blue)
            return
        }
        let mixed = RGB(red: pixels[i], green: pixels[i + 1], blue: pixels[i + 2]).mixed(with: color, amount: coverage)
        (pixels[i], pixels[i + 1], pixels[i + 2]) = (mixed.red, mixed.green, mixed.blue)
    }

    public mutating func fillRectangle(_ rect: PixelRect, color: RGB) {
        let x0 = max(0, rect.x), x1 = min(width, rect.maxX), y0 = max(0, rect.y), y1 = min(height, rect.maxY)
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 {
            for x in x0..<x1 { blend(x: x, y: y, color: color) }
        }
    }

    /// Draws the outline of `rect` inside its bounds, `thickness` pixels wide.
    public mutating func strokeRectangle(_ rect: PixelRect, color: RGB, thickness: Int = 1) {
        let t = min(thickness, rect.width, rect.height)
        fillRectangle(PixelRect(x: rect.x, y: rect.y, width: rect.width, height: t), color: color)
        fillRectangle(PixelRect(x: rect.x, y: rect.maxY - t, width: rect.width, height: t), color: color)
        fillRectangle(PixelRect(x: rect.x, y: rect.y, width: t, height: rect.height), color: color)
        fillRectangle(PixelRect(x: rect.maxX - t, y: rect.y, width: t, height: rect.height), color: color)
    }

    /// A straight line `width` pixels wide with round ends; anti-aliased edges unless
    /// `antialiased` is false (then pixels are either painted or not).
    public mutating func drawLine(from a: CanvasPoint, to b: CanvasPoint, color: RGB, width lineWidth: Double = 1,
                                  antialiased: Bool = true) {
        // Non-finite or absurd coordinates (a diverged loss, say) draw nothing rather than trap.
        guard [a.x, a.y, b.x, b.y, lineWidth].allSatisfy({ $0.isFinite && abs($0) < 1e7 }) else { return }
        let half = lineWidth / 2
        let minX = Int((min(a.x, b.x) - half - 1).rounded(.down)), maxX = Int((max(a.x, b.x) + half + 1).rounded(.up))
        let minY = Int((min(a.y, b.y) - half - 1).rounded(.down)), maxY = Int((max(a.y, b.y) + half + 1).rounded(.up))
        let x0 = max(0, minX), x1 = min(width - 1, maxX), y0 = max(0, minY), y1 = min(height - 1, maxY)
        guard x0 <= x1, y0 <= y1 else { return }
        let dx = b.x - a.x, dy = b.y - a.y
        let lengthSquared = dx * dx + dy * dy
        for y in y0...y1 {
            for x in x0...x1 {
                // Distance from the pixel centre to the segment.
                let px = Double(x) + 0.5 - a.x, py = Double(y) + 0.5 - a.y
                let t = lengthSquared > 0 ? min(1, max(0, (px * dx + py * dy) / lengthSquared)) : 0
                let ex = px - t * dx, ey = py - t * dy
                let distance = (ex * ex + ey * ey).squareRoot()
                let coverage = min(1, max(0, half + 0.5 - distance))
                if antialiased { blend(x: x, y: y, color: color, coverage: coverage) }
                else if coverage >= 0.5 { blend(x: x, y: y, color: color) }
            }
        }
    }

    /// A line drawn as dashes: `dash` pixels on, `gap` pixels off, starting with a dash.
    public mutating func drawDashedLine(from a: CanvasPoint, to b: CanvasPoint, color: RGB, width lineWidth: Double = 1,
                                       dash: Double = 6, gap: Double = 4) {
        let length = ((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y)).squareRoot()
        guard length > 0, dash > 0 else { return }
        var start = 0.0
        while start < length {
            let end = min(length, start + dash)
            func at(_ d: Double) -> CanvasPoint { CanvasPoint(x: a.x + (b.x - a.x) * d / length, y: a.y + (b.y - a.y) * d / length) }
            drawLine(from: at(start), to: at(end), color: color, width: lineWidth)
            start += dash + max(0, gap)
        }
    }

    /// Connected line segments through `points`; dashed when `dashed` is true.
    public mutating func drawPolyline(_ points: [CanvasPoint], color: RGB, width lineWidth: Double = 1, dashed: Bool = false) {
        guard points.count > 1 else { return }
        for (a, b) in zip(points, points.dropFirst()) {
            if dashed { drawDashedLine(from: a, to: b, color: color, width: lineWidth) }
            else { drawLine(from: a, to: b, color: color, width: lineWidth) }
        }
    }

    /// A filled, anti-aliased disc.
    public mutating func fillCircle(center: CanvasPoint, radius: Double, color: RGB) {
        drawLine(from: center, to: center, color: color, width: 2 * radius)
    }

    /// Which way text runs.
    public enum TextDirection: Sendable {
        /// Left to right.
        case horizontal
        /// Bottom to top (rotated 90° anticlockwise), as on a y-axis label; `at` is then the
        /// bottom-left corner of the unrotated text box after rotation, i.e. where the text starts.
        case upward
    }

    /// Draws `text` with the built-in ``BitmapFont``. For horizontal text (x, y) is the top-left
    /// corner; for upward text it is the bottom-left corner of the rotated text.
    public mutating func drawText(_ text: String, x: Int, y: Int, scale: Int = 1, color: RGB = .text,
                                  direction: TextDirection = .horizontal) {
        var offset = 0
        for character in text {
            for (column, bits) in BitmapFont.columns(of: character).enumerated() {
                for row in 0..<BitmapFont.glyphHeight where bits >> row & 1 == 1 {
                    let u = (offset + column) * scale, v = row * scale
                    for sy in 0..<scale {
                        for sx in 0..<scale {
                            switch direction {
                            case .horizontal: blend(x: x + u + sx, y: y + v + sy, color: color)
                            case .upward: blend(x: x + v + sy, y: y - 1 - u - sx, color: color)
                            }
                        }
                    }
                }
            }
            offset += BitmapFont.advance
        }
    }

    /// Horizontal text centred on `centerX`, top at `y`.
    public mutating func drawText(_ text: String, centerX: Int, y: Int, scale: Int = 1, color: RGB = .text) {
        drawText(text, x: centerX - BitmapFont.width(of: text, scale: scale) / 2, y: y, scale: scale, color: color)
    }
}
