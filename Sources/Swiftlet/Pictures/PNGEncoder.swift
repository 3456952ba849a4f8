import Foundation

/// Encodes 8-bit RGB or RGBA pixels as a PNG file (ISO/IEC 15948), with no external libraries.
///
/// Each scanline gets the PNG filter (None, Sub, Up or Paeth) with the smallest sum of absolute
/// residuals, the usual heuristic; the filtered bytes go through ``ZlibStream``.
public enum PNGEncoder {
    /// How pixels are laid out in the input: 3 or 4 bytes per pixel, row-major, top row first.
    public enum ColorType: Sendable {
        case rgb, rgba

        var bytesPerPixel: Int { self == .rgb ? 3 : 4 }
        var pngCode: UInt8 { self == .rgb ? 2 : 6 }
    }

    /// Returns the PNG bytes for `pixels`.
    /// - Throws: ``PictureError/invalidArgument(_:)`` when the sizes do not match the pixel count.
    public static func encode(pixels: [UInt8], width: Int, height: Int, colorType: ColorType = .rgb) throws -> Data {
        guard width > 0, height > 0, width <= 1 << 24, height <= 1 << 24 else {
            throw PictureError.invalidArgument("PNG width and height must be in 1...16777216, got \(width)×\(height)")
        }
        guard pixels.count == width * height * colorType.bytesPerPixel else {
            throw PictureError.invalidArgument(
                "PNG pixels: expected \(width)×\(height)×\(colorType.bytesPerPixel) = "
                    + "\(width * height * colorType.bytesPerPixel) bytes, got \(pixels.count)")
        }
        return encodeValidated(pixels: pixels, width: width, height: height, colorType: colorType)
    }

    /// Saves `pixels` as a PNG file, atomically (see ``AtomicFile``).
    public static func write(pixels: [UInt8], width: Int, height: Int, colorType: ColorType = .rgb, to url: URL) throws {
        try AtomicFile.write(encode(pixels: pixels, width: width, height: height, colorType: colorType), to: url)
    }

    static func encodeValidated(pixels: [UInt8], width: Int, height: Int, colorType: ColorType) -> Data {
        var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        header += [8, colorType.pngCode, 0, 0, 0]  // bit depth, colour type, deflate, adaptive filters, no interlace
        appendChunk("IHDR", header, to: &file)
        let filtered = filterScanlines(pixels, width: width, height: height, bytesPerPixel: colorType.bytesPerPixel)
        appendChunk("IDAT", ZlibStream.compress(filtered), to: &file)
        appendChunk("IEND", [], to: &file)
        return Data(file)
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// A chunk is length, type, data, then the CRC-32 of type and data.
    private static func appendChunk(_ type: String, _ data: [UInt8], to file: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        file += bigEndian(UInt32(data.count))
        file += typeBytes
        file += data
        file += bigEndian(Checksums.crc32(data, continuing: Checksums.crc32(typeBytes)))
    }

    /// Prefixes each row with its filter type byte, choosing per row the filter whose residuals
    /// (read as signed bytes) have the smallest absolute sum.
    private static func filterScanlines(_ pixels: [UInt8], width: Int, height: Int, bytesPerPixel: Int) -> [UInt8] {
        let stride = width * bytesPerPixel
        var output = [UInt8](repeating: 0, count: (stride + 1) * height)
        var candidates = [UInt8](repeating: 0, count: 4 * stride)  // None, Sub, Up, Paeth residuals
        pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { output in
                candidates.withUnsafeMutableBufferPointer { candidate in
                    for row in 0..<height {
                        let start = row * stride
                        var costs = [0, 0, 0, 0]
                        for i in 0..<stride {
                            let current = source[start + i]
                            let left = i >= bytesPerPixel ? source[start + i - bytesPerPixel] : 0
                            let up = row > 0 ? source[start + i - stride] : 0
                            let upLeft = row > 0 && i >= bytesPerPixel ? source[start + i - stride - bytesPerPixel] : 0
                            let residuals = (current, current &- left, current &- up, current &- paeth(left, up, upLeft))
                            (candidate[i], candidate[stride + i]) = (residuals.0, residuals.1)
                            (candidate[2 * stride + i], candidate[3 * stride + i]) = (residuals.2, residuals.3)
                            costs[0] += abs(Int(Int8(bitPattern: residuals.0)))
                            costs[1] += abs(Int(Int8(bitPattern: residuals.1)))
                            costs[2] += abs(Int(Int8(bitPattern: residuals.2)))
                            costs[3] += abs(Int(Int8(bitPattern: residuals.3)))
                        }
                        var best = 0
                        for filter in 1..<4 where costs[filter] < costs[best] { best = filter }
                        output[row * (stride + 1)] = [0, 1, 2, 4][best]  // PNG filter codes: None, Sub, Up, Paeth
                        for i in 0..<stride { output[row * (stride + 1) + 1 + i] = candidate[best * stride + i] }
                    }
                }
            }
        }
        return output
    }

    /// The Paeth predictor: whichever neighbour is closest to left + up - upLeft.
    private static func paeth(_ left: UInt8, _ up: UInt8, _ upLeft: UInt8) -> UInt8 {
        let estimate = Int(left) + Int(up) - Int(upLeft)
        let distanceLeft = abs(estimate - Int(left)), distanceUp = abs(estimate - Int(up))
        let distanceUpLeft = abs(estimate - Int(upLeft))
        if distanceLeft <= distanceUp && distanceLeft <= distanceUpLeft { return left }
        return distanceUp <= distanceUpLeft ? up : upLeft
    }
}
