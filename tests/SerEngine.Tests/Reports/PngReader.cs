using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SerEngine.Models.Reports;

namespace SerEngine.Tests.Reports;

/// <summary>
/// An independent PNG reader for the tests: checks the signature and every chunk's CRC-32 (bitwise,
/// not table-driven, so it does not share the encoder's table), inflates the IDAT data and undoes
/// the five row filters of 8-bit RGBA / RGB images.
/// </summary>
internal static class PngReader
{
    public sealed record Chunk(string Type, byte[] Data, uint StoredCrc, uint ComputedCrc);

    public static List<Chunk> Chunks(byte[] png)
    {
        byte[] signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        if (!png.AsSpan(0, 8).SequenceEqual(signature)) throw new InvalidDataException("no PNG signature");
        var chunks = new List<Chunk>();
        int pos = 8;
        while (pos < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, length).ToArray();
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + length));
            chunks.Add(new Chunk(type, data, stored, BitwiseCrc(png.AsSpan(pos + 4, length + 4))));
            pos += 12 + length;
        }
        return chunks;
    }

    public static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    public static RgbaImage Decode(byte[] png)
    {
        var chunks = Chunks(png);
        foreach (var c in chunks)
            if (c.StoredCrc != c.ComputedCrc) throw new InvalidDataException($"CRC mismatch in {c.Type}");
        if (chunks[0].Type != "IHDR" || chunks[^1].Type != "IEND") throw new InvalidDataException("IHDR must come first and IEND last");
        var ihdr = chunks[0].Data;
        int width = BinaryPrimitives.ReadInt32BigEndian(ihdr), height = BinaryPrimitives.ReadInt32BigEndian(ihdr.AsSpan(4));
        if (ihdr[8] != 8 || (ihdr[9] != 6 && ihdr[9] != 2) || ihdr[12] != 0) throw new InvalidDataException("only 8-bit RGB(A), non-interlaced");
        int channels = ihdr[9] == 6 ? 4 : 3;
        using var packed = new MemoryStream();
        foreach (var c in chunks.Where(c => c.Type == "IDAT")) packed.Write(c.Data);
        packed.Position = 0;
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(packed, CompressionMode.Decompress)) z.CopyTo(raw);
        var bytes = raw.ToArray();
        int stride = width * channels;
        if (bytes.Length != height * (stride + 1)) throw new InvalidDataException($"inflated {bytes.Length} bytes, expected {height * (stride + 1)}");
        var image = new RgbaImage(width, height);
        var prev = new byte[stride];
        var row = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            int filter = bytes[y * (stride + 1)];
            for (int i = 0; i < stride; i++)
            {
                int x = bytes[y * (stride + 1) + 1 + i];
                int a = i >= channels ? row[i - channels] : 0, b = prev[i], c = i >= channels ? prev[i - channels] : 0;
                row[i] = (byte)(filter switch
                {
                    0 => x,
                    1 => x + a,
                    2 => x + b,
                    3 => x + (a + b) / 2,
                    4 => x + Paeth(a, b, c),
                    _ => throw new InvalidDataException($"unknown filter {filter}"),
                });
            }
            for (int px = 0; px < width; px++)
            {
                int i = (y * width + px) * 4;
                image.Pixels[i] = row[px * channels];
                image.Pixels[i + 1] = row[px * channels + 1];
                image.Pixels[i + 2] = row[px * channels + 2];
                image.Pixels[i + 3] = channels == 4 ? row[px * channels + 3] : (byte)255;
            }
            (prev, row) = (row, prev);
        }
        return image;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
