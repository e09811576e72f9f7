using System;
using System.Collections.Generic;

namespace NetGen.Generator.Shapes;

/// <summary>
/// Places inference tensors in the arena by liveness: a block is reused once every reader of the values in it has
/// run. A chain uses two blocks of the largest tensor's size (it ping-pongs, as it always has); a graph places each
/// tensor at the lowest offset where its exact size fits between the live blocks.
/// </summary>
internal sealed class ArenaPlanner
{
    private readonly int _uniform; // > 0: every block has this size (the chain layout)
    private readonly List<(int Offset, int Size)> _live = new();
    private readonly Dictionary<int, int> _pending = new(); // block offset -> readers still to run

    /// <param name="uniform">The block size of the chain layout, or 0 for exact sizes.</param>
    /// <param name="inputSize">Floats of the input, which sits at offset 0.</param>
    /// <param name="inputReaders">How many layers read the input.</param>
    public ArenaPlanner(int uniform, int inputSize, int inputReaders)
    {
        _uniform = uniform;
        int size = uniform > 0 ? uniform : inputSize;
        _live.Add((0, size));
        _pending[0] = inputReaders;
        Top = size;
    }

    /// <summary>The end of the highest block ever placed: the arena's size in floats per sample.</summary>
    public int Top { get; private set; }

    /// <summary>Places a tensor of <paramref name="size"/> floats that <paramref name="readers"/> layers will read.</summary>
    public int Allocate(int size, int readers)
    {
        if (_uniform > 0) size = _uniform;
        _live.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        int offset = 0;
        foreach (var block in _live)
        {
            if (block.Offset - offset >= size) break;
            offset = Math.Max(offset, block.Offset + block.Size);
        }
        _live.Add((offset, size));
        _pending[offset] = readers;
        Top = Math.Max(Top, offset + size);
        return offset;
    }

    /// <summary>A tensor that shares the block at <paramref name="offset"/> (an alias) adds its readers to the block's.</summary>
    public void Share(int offset, int readers) => _pending[offset] += readers;

    /// <summary>One reader of the block at <paramref name="offset"/> has run; the block is free after its last.</summary>
    public void Read(int offset)
    {
        if (--_pending[offset] > 0) return;
        _pending.Remove(offset);
        _live.RemoveAll(b => b.Offset == offset);
    }
}
