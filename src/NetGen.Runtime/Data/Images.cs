using StbImageSharp;

namespace NetGen.Data;

/// <summary>The channels a picture is converted to (Keras's <c>color_mode</c>).</summary>
public enum ColorMode
{
    /// <summary>One channel, Pillow's luminance L = (19595·R + 38470·G + 7471·B + 2¹⁵) / 2¹⁶ (Keras's "grayscale").</summary>
    Grayscale,
    /// <summary>Three channels R, G, B; a grey picture's value repeated, alpha dropped (Keras's default "rgb").</summary>
    Rgb,
    /// <summary>Four channels R, G, B, A; alpha 255 where the file has none ("rgba").</summary>
    Rgba,
}

/// <summary>
/// A decoded picture: <see cref="Height"/> rows of <see cref="Width"/> pixels of <see cref="Channels"/> bytes
/// (row-major, channels last), as Keras's <c>load_img</c> returns a PIL image.
/// </summary>
public sealed class Image
{
    internal Image(int width, int height, int channels, byte[] pixels)
    {
        Width = width;
        Height = height;
        Channels = channels;
        Pixels = pixels;
    }

    /// <summary>Pixels a row.</summary>
    public int Width { get; }

    /// <summary>Rows.</summary>
    public int Height { get; }

    /// <summary>Bytes a pixel: 1 grey, 3 RGB, 4 RGBA.</summary>
    public int Channels { get; }

    /// <summary>The pixels, row after row, <see cref="Channels"/> bytes each.</summary>
    public byte[] Pixels { get; }
}

/// <summary>
/// Single pictures, as Keras's <c>load_img</c> and <c>img_to_array</c>: PNG, JPEG, BMP and GIF (its first frame)
/// files decoded with StbImageSharp, converted to a <see cref="ColorMode"/> and resized with Pillow's nearest
/// neighbour (Keras's default interpolation). Thread-safe: every call works on its own buffers.
/// </summary>
public static class Images
{
    /// <summary>The extensions an image folder lists (Keras's list without PPM and TIFF, which the decoder does not read, and with GIF).</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".gif"];

    /// <summary>The largest picture decoded, in pixels (a bigger one is reported instead of filling memory).</summary>
    public const long MaxPixels = 1L << 26;

    /// <summary>
    /// Reads a picture (Keras's <c>load_img(path, color_mode=..., target_size=(h, w))</c>): decoded, converted to
    /// <paramref name="colorMode"/>, and resized to <paramref name="targetSize"/> (height, width) when given.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="DataFormatException">The file is not a picture the decoder reads, is truncated or corrupt, or is
    /// larger than <see cref="MaxPixels"/>; the message names the path.</exception>
    public static Image LoadImg(string path, (int Height, int Width)? targetSize = null, ColorMode colorMode = ColorMode.Rgb)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (targetSize is { } t && (t.Height <= 0 || t.Width <= 0 || (long)t.Height * t.Width > MaxPixels))
            throw new ArgumentOutOfRangeException(nameof(targetSize), targetSize, $"A target size is (height, width) with both positive and at most {MaxPixels} pixels in all, e.g. (150, 150).");
        if (!Enum.IsDefined(colorMode)) throw new ArgumentOutOfRangeException(nameof(colorMode), colorMode, "Use ColorMode.Grayscale, Rgb or Rgba.");
        if (!File.Exists(path))
            throw new FileNotFoundException($"No picture at '{Path.GetFullPath(path)}'.", path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, "it cannot be read: " + e.Message, e);
        }
        var image = Decode(bytes, path, colorMode);
        return targetSize is { } size && (size.Height != image.Height || size.Width != image.Width)
            ? Resize(image, size.Height, size.Width) : image;
    }

    /// <summary>
    /// The picture as floats 0-255, shaped (1, height, width, channels): a batch of one for <c>Predict</c> (Keras's
    /// <c>img_to_array</c> followed by <c>expand_dims</c>). Scale it as the training data was, e.g. <c>x / 255f</c>.
    /// </summary>
    public static Tensor ImgToArray(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var data = new float[image.Pixels.Length];
        ToFloats(image.Pixels, data);
        return new Tensor(data, 1, image.Height, image.Width, image.Channels);
    }

    /// <summary>The channels of a colour mode.</summary>
    public static int ChannelsOf(ColorMode mode) => mode switch { ColorMode.Grayscale => 1, ColorMode.Rgba => 4, _ => 3 };

    internal static void ToFloats(ReadOnlySpan<byte> pixels, Span<float> destination)
    {
        for (int i = 0; i < pixels.Length; i++) destination[i] = pixels[i];
    }

    /// <summary>Decodes a file's bytes and converts them to <paramref name="mode"/>; errors name <paramref name="path"/>.</summary>
    internal static Image Decode(byte[] bytes, string path, ColorMode mode)
    {
        ImageResult decoded;
        try
        {
            // The header first, where the decoder reads one: a huge picture is refused before its pixels are.
            using (var header = new MemoryStream(bytes, writable: false))
                if (ImageInfo.FromStream(header) is { } info && (info.Width <= 0 || info.Height <= 0 || (long)info.Width * info.Height > MaxPixels))
                    throw new DataFormatException(path, $"its header says {info.Width}x{info.Height} pixels; pictures of 1 to {MaxPixels} pixels are read.");
            decoded = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlueAlpha);
        }
        catch (DataFormatException)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The decoder reports an unknown format as "unknown image type", a truncated or corrupt file as another
            // InvalidOperationException ("bad zlib header", ...), and a few damaged files as index errors from inside
            // its port of stb_image.
            throw new DataFormatException(path, e.Message switch
            {
                "unknown image type" => "it is not a PNG, JPEG, BMP or GIF picture (its first bytes match none of them).",
                "too large" => $"its header declares more pixels than are read (at most {MaxPixels}); the file is corrupt or too big.",
                _ => "it cannot be decoded (" + e.Message + "); the file is truncated, corrupt or not a picture.",
            }, e);
        }
        if ((long)decoded.Width * decoded.Height > MaxPixels)
            throw new DataFormatException(path, $"it has {decoded.Width}x{decoded.Height} pixels; pictures of 1 to {MaxPixels} pixels are read.");
        int w = decoded.Width, h = decoded.Height, pixels = w * h;
        if (decoded.Data is null || decoded.Data.Length < 4L * pixels)
            throw new DataFormatException(path, "the decoder returned fewer pixels than its header promised; the file is truncated or corrupt.");
        var rgba = decoded.Data;
        int channels = ChannelsOf(mode);
        if (mode == ColorMode.Rgba) return new Image(w, h, 4, rgba.Length == 4 * pixels ? rgba : rgba[..(4 * pixels)]);
        var output = new byte[(long)pixels * channels];
        for (int i = 0; i < pixels; i++)
        {
            int r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
            if (mode == ColorMode.Grayscale)
                output[i] = (byte)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
            else
            {
                output[3 * i] = (byte)r;
                output[3 * i + 1] = (byte)g;
                output[3 * i + 2] = (byte)b;
            }
        }
        return new Image(w, h, channels, output);
    }

    /// <summary>
    /// Pillow's nearest-neighbour resize (Keras's default <c>interpolation="nearest"</c>): output pixel (y, x) takes
    /// source pixel (⌊(y + ½)·H/h⌋, ⌊(x + ½)·W/w⌋).
    /// </summary>
    internal static Image Resize(Image image, int height, int width)
    {
        int c = image.Channels;
        var output = new byte[(long)height * width * c];
        double sy = (double)image.Height / height, sx = (double)image.Width / width;
        var columns = new int[width];
        for (int x = 0; x < width; x++) columns[x] = Math.Min(image.Width - 1, (int)((x + 0.5) * sx));
        for (int y = 0; y < height; y++)
        {
            int row = Math.Min(image.Height - 1, (int)((y + 0.5) * sy));
            var source = image.Pixels.AsSpan(row * image.Width * c, image.Width * c);
            var target = output.AsSpan(y * width * c, width * c);
            for (int x = 0; x < width; x++) source.Slice(columns[x] * c, c).CopyTo(target.Slice(x * c, c));
        }
        return new Image(width, height, c, output);
    }
}
