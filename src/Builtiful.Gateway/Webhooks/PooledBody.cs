using System.Buffers;
using Microsoft.AspNetCore.Http;

namespace Builtiful.Gateway.Webhooks;

/// <summary>
/// A request body read once into a buffer rented from <see cref="ArrayPool{T}.Shared"/>: one copy out of Kestrel, no
/// per-delivery array. With a Content-Length the buffer is rented at that size; a chunked body grows it by doubling.
/// Dispose returns the buffer, after which <see cref="Span"/> must not be used.
/// </summary>
internal struct PooledBody : IDisposable
{
    private const int ChunkedStart = 16 * 1024;

    private byte[]? _buffer;

    /// <summary>The body exceeded <see cref="Limit"/>; nothing of it is kept.</summary>
    public bool TooLarge { get; private init; }

    public int Limit { get; private init; }

    public int Length { get; private init; }

    public readonly ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    public readonly ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    /// <summary>Reads at most <paramref name="limit"/> bytes; <see cref="TooLarge"/> when the body is longer.</summary>
    public static async ValueTask<PooledBody> ReadAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        // One byte more than the limit, so a body that fills the buffer is known to be too large (bounded by what an array can hold).
        var capacity = (int)Math.Min((long)limit + 1, Array.MaxLength);
        var declared = request.ContentLength;
        var buffer = ArrayPool<byte>.Shared.Rent(declared is { } length and > 0 ? (int)Math.Min(length + 1, capacity) : Math.Min(ChunkedStart, capacity));
        var filled = 0;
        try
        {
            while (true)
            {
                if (filled == buffer.Length)
                {
                    if (filled > limit || filled >= capacity)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = null;
                        return new PooledBody { TooLarge = true, Limit = limit };
                    }

                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, capacity));
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(filled), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                filled += read;
            }

            if (filled > limit)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
                return new PooledBody { TooLarge = true, Limit = limit };
            }

            var body = new PooledBody { _buffer = buffer, Length = filled, Limit = limit };
            buffer = null;
            return body;
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
