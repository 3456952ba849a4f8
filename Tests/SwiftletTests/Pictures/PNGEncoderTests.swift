import Foundation
import Testing
@testable import Swiftlet

@Suite("PNG encoder") struct PNGEncoderTests {
    @Test func checksumsMatchPublishedValues() {
        #expect(Checksums.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(Checksums.crc32(Array("IEND".utf8)) == 0xAE42_6082)  // the CRC every PNG ends with
        #expect(Array("Wikipedia".utf8).withUnsafeBufferPointer { Checksums.adler32($0) } == 0x11E6_0398)
    }

    @Test func structureAndPixelsRoundTrip() throws {
        // Noise defeats LZ77, flat runs exercise long matches, the gradient exercises every filter.
        var state: UInt32 = 7
        let width = 37, height = 23
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                state = state &* 1_664_525 &+ 1_013_904_223
                switch y % 3 {
                case 0: pixels += [UInt8(state >> 24), UInt8(state >> 16 & 0xFF), UInt8(state >> 8 & 0xFF)]
                case 1: pixels += [200, 10, 10]
                default: pixels += [UInt8(x * 6), UInt8(y * 10), UInt8((x + y) * 3)]
                }
            }
        }
        let png = try PNGEncoder.encode(pixels: pixels, width: width, height: height)
        let decoded = try DecodedPNG(png)
        #expect(decoded.chunkTypes == ["IHDR", "IDAT", "IEND"])
        #expect(decoded.width == width && decoded.height == height && decoded.colorType == 2)
        #expect(decoded.scanlines.count == (width * 3 + 1) * height)
        #expect(decoded.pixels == pixels)
    }

    @Test func rgbaAndSinglePixel() throws {
        let rgba: [UInt8] = [1, 2, 3, 4, 250, 251, 252, 0]
        let decoded = try DecodedPNG(try PNGEncoder.encode(pixels: rgba, width: 2, height: 1, colorType: .rgba))
        #expect(decoded.colorType == 6 && decoded.pixels == rgba)
        #expect(try DecodedPNG(try PNGEncoder.encode(pixels: [9, 8, 7], width: 1, height: 1)).pixels == [9, 8, 7])
    }

    @Test func flatImagesCompressWell() throws {
        let canvas = Canvas(width: 500, height: 400, background: RGB(hex: 0x336699))
        let png = canvas.png()
        #expect(png.count < 500 * 400 * 3 / 100)
        #expect(try DecodedPNG(png).pixels == canvas.pixels)
    }

    @Test func rejectsSizesThatDoNotMatchThePixels() {
        #expect(throws: PictureError.self) { try PNGEncoder.encode(pixels: [0, 0, 0], width: 2, height: 1) }
        #expect(throws: PictureError.self) { try PNGEncoder.encode(pixels: [], width: 0, height: 0) }
    }

    @Test func writesAtomicallyToDisk() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-\(getpid())-dot.png")
        defer { try? FileManager.default.removeItem(at: url) }
        var canvas = Canvas(width: 3, height: 2)
        canvas.blend(x: 1, y: 1, color: .black)
        try canvas.write(to: url)
        #expect(try DecodedPNG(Data(contentsOf: url)).pixels == canvas.pixels)
    }

    /// A second opinion from zlib itself, where python3 is installed.
    @Test func pythonZlibAgrees() throws {
        let python = ["/usr/bin/python3", "/usr/local/bin/python3", "/root/.pyenv/shims/python3"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let python else { return }
        var canvas = Canvas(width: 64, height: 48)
        canvas.drawLine(from: CanvasPoint(x: 2, y: 3), to: CanvasPoint(x: 60, y: 40), color: .black, width: 3)
        canvas.drawText("zlib", x: 5, y: 30, scale: 2)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-\(getpid())-zlib.png")
        defer { try? FileManager.default.removeItem(at: url) }
        try canvas.write(to: url)
        let script = """
            import sys, zlib, struct
            b = open(sys.argv[1], 'rb').read(); i = 8; idat = b''
            while i < len(b):
                n, = struct.unpack('>I', b[i:i+4]); t = b[i+4:i+8]
                assert zlib.crc32(b[i+4:i+8+n]) == struct.unpack('>I', b[i+8+n:i+12+n])[0]
                if t == b'IDAT': idat += b[i+8:i+8+n]
                i += 12 + n
            print(len(zlib.decompress(idat)))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == String((64 * 3 + 1) * 48))
    }
}
