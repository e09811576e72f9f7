using NetGen.Cpu;

namespace NetGen.Backends;

// Padding, cropping and nearest upsampling on the CPU (NHWC). Every pass is row copies: a padded or cropped output
// row is [zeros | one contiguous run of the input row | zeros] (Pad2DBackward is the same shift reversed), an
// upsampled row is built once from its input row and then copied SizeH − 1 times, and the upsampling backward adds
// the SizeH·SizeW cells of each block in a fixed order (the ILGPU kernel's). Work is cut into items of whole rows on
// the shared worker pool when it is large enough (ParallelMinFloats); no item writes where another reads or writes.
public sealed unsafe partial class CpuBackend
{
    private ResampleWork? _resampleWork;

    /// <inheritdoc/>
    public void Pad2DForward(in Pad2DGeometry g, int batch, int x, int y) => RunPad(g, batch, x, y);

    /// <inheritdoc/>
    public void Pad2DBackward(in Pad2DGeometry g, int batch, int dy, int dx) => RunPad(g.Reversed(), batch, dy, dx);

    /// <inheritdoc/>
    public void UpSample2DForward(in UpSample2DGeometry g, int batch, int x, int y) =>
        RunResample(ResampleWork.UpForward, default, g, batch, x, y);

    /// <inheritdoc/>
    public void UpSample2DBackward(in UpSample2DGeometry g, int batch, int dy, int dx) =>
        RunResample(ResampleWork.UpBackward, default, g, batch, dy, dx);

    private void RunPad(in Pad2DGeometry g, int batch, int src, int dst) =>
        RunResample(ResampleWork.Pad, g, default, batch, src, dst);

    private void RunResample(int kind, in Pad2DGeometry pad, in UpSample2DGeometry up, int batch, int src, int dst)
    {
        if (batch <= 0) return;
        var w = _resampleWork ??= new ResampleWork(this);
        w.Kind = kind;
        w.PadShape = pad;
        w.Up = up;
        w.Src = src;
        w.Dst = dst;
        long perUnit;
        if (kind == ResampleWork.Pad)
        {
            if (pad.OutSize == 0) return;
            w.Units = batch * pad.OutH;                   // output rows
            perUnit = (long)pad.OutW * pad.Channels;
        }
        else
        {
            if (up.InSize == 0) return;
            w.Units = batch * up.InH;                     // input rows, each with its SizeH output rows
            perUnit = (long)up.SizeH * up.OutW * up.Channels;
        }
        w.Items = ItemsFor(w.Units, perUnit);
        if (w.Items == 1) w.Execute(0);
        else WorkerPool.Shared.Run(w, w.Items);
    }

    /// <summary>Output rows [r0, r1) of a shift: y row = [0 … | x[ih, iw0 … iw1) | … 0], or all zeros outside x.</summary>
    private void PadRows(ResampleWork w, int r0, int r1)
    {
        ref readonly Pad2DGeometry g = ref w.PadShape;
        int C = g.Channels, rowOut = g.OutW * C;
        // Output columns [ow0, ow1) come from input columns [ow0 − Left, ow1 − Left).
        int ow0 = Math.Clamp(g.Left, 0, g.OutW), ow1 = Math.Clamp(g.InW + g.Left, ow0, g.OutW);
        int head = ow0 * C, run = (ow1 - ow0) * C, tail = rowOut - head - run;
        float* src = At(w.Src), dst = At(w.Dst);
        for (int r = r0; r < r1; r++)
        {
            int n = r / g.OutH, oh = r - n * g.OutH, ih = oh - g.Top;
            float* y = dst + (long)r * rowOut;
            if ((uint)ih >= (uint)g.InH || run == 0)
            {
                Clear(y, rowOut);
                continue;
            }
            float* x = src + ((long)n * g.InH + ih) * g.InW * C + (long)(ow0 - g.Left) * C;
            Clear(y, head);
            Copy(y + head, x, run);
            Clear(y + head + run, tail);
        }
    }

    /// <summary>Input rows [r0, r1): the first of each row's SizeH output rows cell by cell, the others as row copies.</summary>
    private void UpForwardRows(ResampleWork w, int r0, int r1)
    {
        ref readonly UpSample2DGeometry g = ref w.Up;
        int C = g.Channels, sw = g.SizeW, rowIn = g.InW * C, rowOut = g.OutW * C;
        float* src = At(w.Src), dst = At(w.Dst);
        for (int r = r0; r < r1; r++)
        {
            float* x = src + (long)r * rowIn;
            float* y = dst + (long)r * g.SizeH * rowOut;   // output row r·SizeH: (n·InH + ih)·SizeH = n·OutH + ih·SizeH
            if (C == 1)
            {
                for (int iw = 0; iw < g.InW; iw++)
                {
                    float v = x[iw];
                    float* cell = y + iw * sw;
                    for (int b = 0; b < sw; b++) cell[b] = v;
                }
            }
            else
            {
                for (int iw = 0; iw < g.InW; iw++)
                {
                    float* cell = y + (long)iw * sw * C;
                    for (int b = 0; b < sw; b++) Copy(cell + b * C, x + iw * C, C);
                }
            }
            for (int a = 1; a < g.SizeH; a++) Copy(y + (long)a * rowOut, y, rowOut);
        }
    }

    /// <summary>Input rows [r0, r1): dx[ih, iw] = Σ_a Σ_b dy[ih·SizeH + a, iw·SizeW + b], in that order.</summary>
    private void UpBackwardRows(ResampleWork w, int r0, int r1)
    {
        ref readonly UpSample2DGeometry g = ref w.Up;
        int C = g.Channels, sw = g.SizeW, rowIn = g.InW * C, rowOut = g.OutW * C;
        float* src = At(w.Src), dst = At(w.Dst);
        for (int r = r0; r < r1; r++)
        {
            float* dx = dst + (long)r * rowIn;
            float* dyBlock = src + (long)r * g.SizeH * rowOut;
            for (int a = 0; a < g.SizeH; a++)
            {
                float* dy = dyBlock + (long)a * rowOut;
                if (C == 1)
                {
                    for (int iw = 0; iw < g.InW; iw++)
                    {
                        float* cell = dy + iw * sw;
                        float s = a == 0 ? cell[0] : dx[iw] + cell[0];
                        for (int b = 1; b < sw; b++) s += cell[b];
                        dx[iw] = s;
                    }
                }
                else
                {
                    for (int iw = 0; iw < g.InW; iw++)
                    {
                        float* d = dx + iw * C, cell = dy + (long)iw * sw * C;
                        if (a == 0) Copy(d, cell, C);
                        else AddTo(d, cell, C);
                        for (int b = 1; b < sw; b++) AddTo(d, cell + b * C, C);
                    }
                }
            }
        }
    }

    /// <summary>The arguments of one padding or upsampling pass, cut into <see cref="Items"/> equal ranges of rows.</summary>
    private sealed class ResampleWork(CpuBackend owner) : IWorkItem
    {
        public const int Pad = 0, UpForward = 1, UpBackward = 2;

        public int Kind, Units, Items, Src, Dst;
        public Pad2DGeometry PadShape;
        public UpSample2DGeometry Up;

        public void Execute(int index)
        {
            int u0 = (int)((long)Units * index / Items), u1 = (int)((long)Units * (index + 1) / Items);
            if (u1 <= u0) return;
            switch (Kind)
            {
                case Pad: owner.PadRows(this, u0, u1); break;
                case UpForward: owner.UpForwardRows(this, u0, u1); break;
                case UpBackward: owner.UpBackwardRows(this, u0, u1); break;
            }
        }
    }
}
