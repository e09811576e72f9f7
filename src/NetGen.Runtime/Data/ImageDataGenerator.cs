namespace NetGen.Data;

/// <summary>How <see cref="ImageDataGenerator"/> fills points that a transform brings in from outside the image.</summary>
public enum FillMode
{
    /// <summary>The nearest edge pixel (Keras's default, scipy's <c>nearest</c>).</summary>
    Nearest,
    /// <summary>
    /// <see cref="ImageDataGenerator.Cval"/> for every point outside the image (scipy's <c>constant</c>: points inside
    /// are interpolated from the image alone).
    /// </summary>
    Constant,
}

/// <summary>
/// One image's random transform (Keras's <c>transform_parameters</c> dict): rotation and shear in degrees, shifts in
/// pixels (Tx down the rows, Ty along the columns), zoom factors, flips. Name what differs from the identity, e.g.
/// <c>new ImageTransform(Theta: 90)</c>; <c>default</c> has zoom factors 0, so use <see cref="Identity"/> instead.
/// </summary>
public readonly record struct ImageTransform(double Theta = 0, double Tx = 0, double Ty = 0, double Shear = 0, double Zx = 1, double Zy = 1,
    bool FlipHorizontal = false, bool FlipVertical = false)
{
    /// <summary>The transform that changes nothing.</summary>
    public static ImageTransform Identity => new(Zx: 1, Zy: 1);
}

/// <summary>
/// Real-time data augmentation for (height, width, channels) images, as Keras 2's
/// <c>tf.keras.preprocessing.image.ImageDataGenerator</c> (keras_preprocessing up to 1.1.2, the Keras 2 releases:
/// centre at (h/2 + 0.5, w/2 + 0.5), no axis swap): each sample gets a random affine transform (rotation,
/// shifts, shear, zoom; bilinear, about the image centre as Keras places it), random flips, then standardisation
/// (rescale, then per-sample centring and scaling). Use it with <see cref="Flow"/> and
/// <see cref="Model.Fit(DataFlow, int, int, ValueTuple{Tensor, Tensor}?, int, IEnumerable{Callback}?, int)"/>. Draws come
/// from NetGen's counter-based RNG, so a run is reproducible from its seed (they are not NumPy's draws).
/// </summary>
public sealed class ImageDataGenerator
{
    /// <summary>Multiplies every value (Keras's <c>rescale</c>; 0 means none), before the centring.</summary>
    public float Rescale { get; init; }
    /// <summary>Subtracts each sample's mean.</summary>
    public bool SamplewiseCenter { get; init; }
    /// <summary>Divides each sample by its standard deviation (+1e-6); implies <see cref="SamplewiseCenter"/>, as Keras.</summary>
    public bool SamplewiseStdNormalization { get; init; }
    /// <summary>Rotation in degrees, uniform in [-range, range].</summary>
    public double RotationRange { get; init; }
    /// <summary>Horizontal shift: a fraction of the width if below 1, else pixels; uniform in [-range, range] (Keras's float form).</summary>
    public double WidthShiftRange { get; init; }
    /// <summary>Vertical shift: a fraction of the height if below 1, else pixels; uniform in [-range, range] (Keras's float form).</summary>
    public double HeightShiftRange { get; init; }
    /// <summary>Shear angle in degrees (counter-clockwise), uniform in [-range, range].</summary>
    public double ShearRange { get; init; }
    /// <summary>Zoom: each axis's factor uniform in [1 - range, 1 + range] (above 1 zooms out, as Keras).</summary>
    public double ZoomRange { get; init; }
    /// <summary>Flips half the images left-right.</summary>
    public bool HorizontalFlip { get; init; }
    /// <summary>Flips half the images upside down.</summary>
    public bool VerticalFlip { get; init; }
    /// <summary>How points outside the image are filled.</summary>
    public FillMode FillMode { get; init; } = FillMode.Nearest;
    /// <summary>The value for <see cref="FillMode.Constant"/>.</summary>
    public float Cval { get; init; }

    /// <summary>Batches of (x, y) for <see cref="Model.Fit(DataFlow, int, int, ValueTuple{Tensor, Tensor}?, int, IEnumerable{Callback}?, int)"/>, as Keras's <c>flow</c>.</summary>
    /// <param name="x">Images, (samples, height, width, channels).</param>
    /// <param name="y">Labels, one row per sample.</param>
    /// <param name="batchSize">Samples per batch (the last batch of a pass may be smaller).</param>
    /// <param name="shuffle">Reshuffle at every pass over the data.</param>
    /// <param name="seed">Seed of the shuffling and the transforms; null uses the model's <see cref="Model.Seed"/>.</param>
    public DataFlow Flow(Tensor x, Tensor y, int batchSize = 32, bool shuffle = true, ulong? seed = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Rank != 4)
            throw new ArgumentException($"ImageDataGenerator.Flow needs images (samples, height, width, channels) but x has shape {x.ShapeString}; reshape it, e.g. x.Reshape(-1, 28, 28, 1).", nameof(x));
        if (y.Count != x.Count)
            throw new ArgumentException($"y has {y.Count} samples but x has {x.Count}; they must match.", nameof(y));
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");
        Validate();
        return new DataFlow(this, x, y, batchSize, shuffle, seed);
    }

    /// <summary>
    /// The fraction of each class folder <see cref="FlowFromDirectory"/> keeps for <c>subset: "validation"</c> (the
    /// first files of each class, in sorted order); <c>"training"</c> takes the rest (Keras's <c>validation_split</c>).
    /// </summary>
    public double ValidationSplit { get; init; }

    /// <summary>
    /// Batches of pictures read from class folders, as Keras's <c>flow_from_directory</c>: every sub-folder of
    /// <paramref name="directory"/> is a class (in ordinal order of their names unless <paramref name="classes"/>
    /// lists them), its pictures (PNG, JPEG, BMP, GIF; sub-folders included, sorted) are its samples. Each is
    /// decoded, converted to <paramref name="colorMode"/>, resized to <paramref name="targetSize"/> with Pillow's
    /// nearest neighbour, then transformed and standardised by this generator. Prints "Found N images belonging to K
    /// classes." as Keras does.
    /// </summary>
    /// <param name="directory">The folder holding one folder per class.</param>
    /// <param name="targetSize">(height, width) of every sample; Keras's default is (256, 256).</param>
    /// <param name="colorMode">The channels: grayscale 1, rgb 3, rgba 4.</param>
    /// <param name="classes">The class folders to read, in label order; null: all of them, sorted.</param>
    /// <param name="classMode">The labels: categorical (one-hot), binary (two classes, 0 or 1), sparse (index), input (the picture), none.</param>
    /// <param name="batchSize">Samples per batch.</param>
    /// <param name="shuffle">Reshuffle at every pass (set false to Predict in file order).</param>
    /// <param name="seed">Seed of the shuffling and transforms; null uses the model's.</param>
    /// <param name="subset">"training" or "validation" with <see cref="ValidationSplit"/>; null for all files.</param>
    /// <param name="onBadImage">Fail on an unreadable picture (default), or skip it with a warning.</param>
    /// <param name="prefetch">Batches loaded ahead, in parallel on the thread pool.</param>
    /// <exception cref="DirectoryNotFoundException">The folder, or a listed class's folder, does not exist.</exception>
    /// <exception cref="ArgumentException">No class folders, no pictures, a binary mode without exactly two classes, or a bad subset.</exception>
    public DirectoryFlow FlowFromDirectory(string directory, (int Height, int Width) targetSize, ColorMode colorMode = ColorMode.Rgb,
        IReadOnlyList<string>? classes = null, ClassMode classMode = ClassMode.Categorical, int batchSize = 32, bool shuffle = true,
        ulong? seed = null, string? subset = null, BadImageAction onBadImage = BadImageAction.Fail, int prefetch = 4)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Validate();
        if (targetSize.Height <= 0 || targetSize.Width <= 0 || (long)targetSize.Height * targetSize.Width > Images.MaxPixels)
            throw new ArgumentOutOfRangeException(nameof(targetSize), targetSize, "targetSize is (height, width), both positive, e.g. (150, 150).");
        if (!Enum.IsDefined(colorMode)) throw new ArgumentOutOfRangeException(nameof(colorMode), colorMode, "Use ColorMode.Grayscale, Rgb or Rgba.");
        if (!Enum.IsDefined(classMode)) throw new ArgumentOutOfRangeException(nameof(classMode), classMode, "Use ClassMode.Categorical, Binary, Sparse, Input or None.");
        if (!Enum.IsDefined(onBadImage)) throw new ArgumentOutOfRangeException(nameof(onBadImage), onBadImage, "Use BadImageAction.Fail or Skip.");
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");
        if (prefetch is < 1 or > 1024) throw new ArgumentOutOfRangeException(nameof(prefetch), prefetch, "prefetch is the number of batches loaded ahead: 1 to 1024.");
        if (!(ValidationSplit >= 0 && ValidationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(ValidationSplit), ValidationSplit, "ValidationSplit must be in [0, 1), e.g. 0.2.");
        (double From, double To) split = subset switch
        {
            null => (0, 1),
            "training" when ValidationSplit > 0 => (ValidationSplit, 1),
            "validation" when ValidationSplit > 0 => (0, ValidationSplit),
            "training" or "validation" => throw new ArgumentException($"subset \"{subset}\" needs a ValidationSplit on the generator, e.g. new ImageDataGenerator {{ ValidationSplit = 0.2 }}.", nameof(subset)),
            _ => throw new ArgumentException($"subset must be \"training\", \"validation\" or null, not \"{subset}\".", nameof(subset)),
        };
        string root = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(root))
            throw new DirectoryNotFoundException($"No image folder at '{root}': FlowFromDirectory needs a folder holding one sub-folder of pictures per class.");
        string[] names = classes is null
            ? [.. System.IO.Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [.. classes];
        if (names.Length == 0)
            throw new ArgumentException($"'{root}' has no class folders; put each class's pictures in a sub-folder named after it (e.g. {Path.Combine(root, "cats")}).", nameof(directory));
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Length)
            throw new ArgumentException($"classes lists a folder twice: {string.Join(", ", names)}.", nameof(classes));
        if (classMode == ClassMode.Binary && names.Length != 2)
            throw new ArgumentException($"ClassMode.Binary labels exactly two classes, but '{root}' has {names.Length} ({string.Join(", ", names)}); use ClassMode.Categorical or Sparse.", nameof(classMode));
        var files = new List<string>();
        var labels = new List<int>();
        for (int c = 0; c < names.Length; c++)
        {
            string folder = Path.Combine(root, names[c]);
            if (!System.IO.Directory.Exists(folder))
                throw new DirectoryNotFoundException($"Class '{names[c]}' has no folder at '{folder}'.");
            var pictures = System.IO.Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                .Where(f => Images.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Select(f => Path.GetRelativePath(root, f))
                // os.walk's order as Keras sorts it: by folder, then by name within the folder.
                .OrderBy(f => Path.GetDirectoryName(f), StringComparer.Ordinal).ThenBy(Path.GetFileName, StringComparer.Ordinal)
                .ToArray();
            int from = (int)(split.From * pictures.Length), to = (int)(split.To * pictures.Length);
            for (int i = from; i < to; i++)
            {
                files.Add(pictures[i]);
                labels.Add(c);
            }
        }
        Console.WriteLine($"Found {files.Count} images belonging to {names.Length} classes.");
        if (files.Count == 0)
            throw new ArgumentException($"The class folders of '{root}' hold no pictures{(subset is null ? "" : $" for subset \"{subset}\"")} (read: {string.Join(", ", Images.Extensions)}).", nameof(directory));
        return new DirectoryFlow(this, root, names, [.. files], [.. labels], targetSize, colorMode, classMode, batchSize, shuffle, seed, onBadImage, prefetch);
    }

    /// <summary>
    /// Every range must be a finite number of at least 0 (a NaN or infinite one would turn every image into NaN), and
    /// the rescale factor and fill value finite.
    /// </summary>
    private void Validate()
    {
        static void Range(string name, double value)
        {
            if (!(value >= 0) || !double.IsFinite(value) || value > 1e6)
                throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number of at least 0 (Keras's ranges are like 10 degrees or 0.1 of the image).");
        }
        Range(nameof(RotationRange), RotationRange);
        Range(nameof(WidthShiftRange), WidthShiftRange);
        Range(nameof(HeightShiftRange), HeightShiftRange);
        Range(nameof(ShearRange), ShearRange);
        Range(nameof(ZoomRange), ZoomRange);
        if (!float.IsFinite(Rescale)) throw new ArgumentOutOfRangeException(nameof(Rescale), Rescale, "Rescale must be a finite number (0 for none), e.g. 1f / 255.");
        if (!float.IsFinite(Cval)) throw new ArgumentOutOfRangeException(nameof(Cval), Cval, "Cval must be a finite number, e.g. 0.");
    }

    /// <summary>Keras's <c>get_random_transform</c>: draws one image's parameters from counters of <paramref name="key"/>.</summary>
    public ImageTransform RandomTransform(int height, int width, ulong key)
    {
        double U(ulong k, double low, double high) => low + (high - low) * CounterRng.UniformOpen(key, k);
        double theta = RotationRange != 0 ? U(0, -RotationRange, RotationRange) : 0;
        double tx = HeightShiftRange != 0 ? U(1, -HeightShiftRange, HeightShiftRange) * (HeightShiftRange < 1 ? height : 1) : 0;
        double ty = WidthShiftRange != 0 ? U(2, -WidthShiftRange, WidthShiftRange) * (WidthShiftRange < 1 ? width : 1) : 0;
        double shear = ShearRange != 0 ? U(3, -ShearRange, ShearRange) : 0;
        double zx = 1, zy = 1;
        if (ZoomRange != 0)
        {
            zx = U(4, 1 - ZoomRange, 1 + ZoomRange);
            zy = U(5, 1 - ZoomRange, 1 + ZoomRange);
        }
        bool flipH = HorizontalFlip && CounterRng.UniformOpen(key, 6) < 0.5;
        bool flipV = VerticalFlip && CounterRng.UniformOpen(key, 7) < 0.5;
        return new ImageTransform(theta, tx, ty, shear, zx, zy, flipH, flipV);
    }

    /// <summary>
    /// Keras's <c>apply_transform</c> on one (height, width, channels) image: the affine part
    /// (<c>apply_affine_transform</c>: rotation·shift·shear·zoom about the point (h/2 + 0.5, w/2 + 0.5), bilinear,
    /// output pixel (i, j) reading the input at M·(i, j) + offset), then the flips. <paramref name="source"/> and
    /// <paramref name="destination"/> must not overlap.
    /// </summary>
    public void ApplyTransform(ReadOnlySpan<float> source, Span<float> destination, int height, int width, int channels, in ImageTransform t)
    {
        if (height <= 0 || width <= 0 || channels <= 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"An image is at least 1x1x1; got {height}x{width}x{channels}.");
        Validate();
        long needed = (long)height * width * channels;
        if (source.Length < needed || destination.Length < needed)
            throw new ArgumentException($"An image of {height}x{width}x{channels} needs {needed} values.");
        int size = (int)needed;
        var m = AffineMatrix(t, height, width);
        if (m is null) source[..size].CopyTo(destination);
        else
        {
            var (a, b, c, d, o0, o1) = m.Value;
            for (int i = 0; i < height; i++)
                for (int j = 0; j < width; j++)
                {
                    double r = a * i + b * j + o0, q = c * i + d * j + o1;
                    if (FillMode == FillMode.Constant && (r < 0 || r > height - 1 || q < 0 || q > width - 1))
                    {
                        for (int ch = 0; ch < channels; ch++) destination[(i * width + j) * channels + ch] = Cval;
                        continue;
                    }
                    int r0 = (int)Math.Floor(r), q0 = (int)Math.Floor(q);
                    double fr = r - r0, fq = q - q0;
                    for (int ch = 0; ch < channels; ch++)
                    {
                        double v = (1 - fr) * ((1 - fq) * Pixel(source, height, width, channels, r0, q0, ch) + fq * Pixel(source, height, width, channels, r0, q0 + 1, ch)) +
                                   fr * ((1 - fq) * Pixel(source, height, width, channels, r0 + 1, q0, ch) + fq * Pixel(source, height, width, channels, r0 + 1, q0 + 1, ch));
                        destination[(i * width + j) * channels + ch] = (float)v;
                    }
                }
        }
        if (t.FlipHorizontal)
            for (int i = 0; i < height; i++)
                for (int j = 0; j < width / 2; j++)
                    for (int ch = 0; ch < channels; ch++)
                        (destination[(i * width + j) * channels + ch], destination[(i * width + width - 1 - j) * channels + ch]) =
                            (destination[(i * width + width - 1 - j) * channels + ch], destination[(i * width + j) * channels + ch]);
        if (t.FlipVertical)
            for (int i = 0; i < height / 2; i++)
                for (int k = 0; k < width * channels; k++)
                    (destination[i * width * channels + k], destination[(height - 1 - i) * width * channels + k]) =
                        (destination[(height - 1 - i) * width * channels + k], destination[i * width * channels + k]);
    }

    /// <summary>
    /// The 2x2 matrix and offset that map an output pixel to the input point it reads, or null for the identity:
    /// Keras composes rotation, shift, shear and zoom (in that order) and centres them on (h/2 + 0.5, w/2 + 0.5).
    /// </summary>
    internal static (double A, double B, double C, double D, double O0, double O1)? AffineMatrix(in ImageTransform t, int height, int width)
    {
        if (t.Theta == 0 && t.Tx == 0 && t.Ty == 0 && t.Shear == 0 && t.Zx == 1 && t.Zy == 1) return null;
        // [a b e; c d f; 0 0 1], starting from the identity.
        double a = 1, b = 0, c = 0, d = 1, e = 0, f = 0;
        void Then(double a2, double b2, double c2, double d2, double e2, double f2)
        {
            (a, b, c, d, e, f) = (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2, a * e2 + b * f2 + e, c * e2 + d * f2 + f);
        }
        if (t.Theta != 0)
        {
            double th = t.Theta * Math.PI / 180;
            Then(Math.Cos(th), -Math.Sin(th), Math.Sin(th), Math.Cos(th), 0, 0);
        }
        if (t.Tx != 0 || t.Ty != 0) Then(1, 0, 0, 1, t.Tx, t.Ty);
        if (t.Shear != 0)
        {
            double sh = t.Shear * Math.PI / 180;
            Then(1, -Math.Sin(sh), 0, Math.Cos(sh), 0, 0);
        }
        if (t.Zx != 1 || t.Zy != 1) Then(t.Zx, 0, 0, t.Zy, 0, 0);
        // offset·M·reset with o = (h/2 + 0.5, w/2 + 0.5) (keras transform_matrix_offset_center).
        double ox = height / 2.0 + 0.5, oy = width / 2.0 + 0.5;
        return (a, b, c, d, e - a * ox - b * oy + ox, f - c * ox - d * oy + oy);
    }

    /// <summary>A pixel, with indices clamped to the image (the neighbours of points on or past the edge).</summary>
    private static double Pixel(ReadOnlySpan<float> image, int height, int width, int channels, int r, int q, int ch) =>
        image[(Math.Clamp(r, 0, height - 1) * width + Math.Clamp(q, 0, width - 1)) * channels + ch];

    /// <summary>Keras's <c>standardize</c> on one sample, in place: rescale, then subtract the mean, then divide by std + 1e-6.</summary>
    public void Standardize(Span<float> sample)
    {
        if (Rescale != 0)
            for (int i = 0; i < sample.Length; i++) sample[i] *= Rescale;
        if (!SamplewiseCenter && !SamplewiseStdNormalization) return;
        double mean = 0;
        foreach (float v in sample) mean += v;
        mean /= sample.Length;
        // Centred either way: Keras turns samplewise_center on with samplewise_std_normalization.
        for (int i = 0; i < sample.Length; i++) sample[i] = (float)(sample[i] - mean);
        if (SamplewiseStdNormalization)
        {
            double sq = 0;
            foreach (float v in sample) sq += (double)v * v;
            double scale = 1 / (Math.Sqrt(sq / sample.Length) + 1e-6);
            for (int i = 0; i < sample.Length; i++) sample[i] = (float)(sample[i] * scale);
        }
    }

    /// <summary>
    /// A copy of <paramref name="x"/> with every sample standardised on its own (no random transform), as a flow does
    /// for each sample: for validation and test data. (Keras's <c>standardize</c> called on a whole array would take one
    /// mean and std over all of it.)
    /// </summary>
    public Tensor Standardize(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var copy = new Tensor((float[])x.Data.Clone(), x.Shape.ToArray());
        int size = x.SampleSize;
        for (int s = 0; s < x.Count; s++) Standardize(copy.Data.AsSpan(s * size, size));
        return copy;
    }

    /// <summary>Transforms and standardises one sample in place (a flow's per-sample step).</summary>
    internal void Augment(Span<float> sample, int height, int width, int channels, ulong key)
    {
        var t = RandomTransform(height, width, key);
        if (AffineMatrix(t, height, width) is not null || t.FlipHorizontal || t.FlipVertical)
        {
            // A pooled copy of the sample (not a field: one generator may serve several models on several threads).
            float[] rented = System.Buffers.ArrayPool<float>.Shared.Rent(sample.Length);
            var source = rented.AsSpan(0, sample.Length);
            sample.CopyTo(source);
            ApplyTransform(source, sample, height, width, channels, t);
            System.Buffers.ArrayPool<float>.Shared.Return(rented);
        }
        Standardize(sample);
    }
}

/// <summary>
/// Batches drawn from arrays through an <see cref="ImageDataGenerator"/> (Keras's <c>NumpyArrayIterator</c>): passes
/// over the data, reshuffled at each pass, every sample transformed as it is drawn.
/// </summary>
public sealed class DataFlow
{
    internal DataFlow(ImageDataGenerator generator, Tensor x, Tensor y, int batchSize, bool shuffle, ulong? seed)
    {
        Generator = generator;
        X = x;
        Y = y;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
    }

    /// <summary>The generator.</summary>
    public ImageDataGenerator Generator { get; }
    /// <summary>The images.</summary>
    public Tensor X { get; }
    /// <summary>The labels.</summary>
    public Tensor Y { get; }
    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }
    /// <summary>Whether each pass is reshuffled.</summary>
    public bool Shuffle { get; }
    /// <summary>The seed, or null for the model's.</summary>
    public ulong? Seed { get; }
    /// <summary>Batches in one pass over the data (Keras's <c>len(iterator)</c>).</summary>
    public int BatchesPerPass => (X.Count + BatchSize - 1) / BatchSize;
}
