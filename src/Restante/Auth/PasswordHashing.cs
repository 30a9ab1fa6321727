using System.Collections.Concurrent;

namespace Restante.Auth;

/// <summary>
/// Where password hashes are computed: a fixed set of dedicated threads fed by a bounded queue. A slow hash (Argon2id
/// at 64 MiB, bcrypt) therefore never runs on a thread-pool thread that greetings and logged-in sessions need, the
/// memory hashing takes is at most <see cref="Workers"/> times one hash's cost whatever the number of clients, and a
/// flood of logins past the queue is refused at once (<see cref="PasswordHashingBusyException"/>) instead of piling
/// up. Dovecot bounds its auth workers the same way (auth_worker_max_count).
/// </summary>
public sealed class PasswordHashing : IDisposable
{
    private static readonly Lazy<PasswordHashing> s_shared = new(() => new PasswordHashing(DefaultWorkers, DefaultQueueCapacity));

    private readonly BlockingCollection<WorkItem> _queue;
    private readonly Thread[] _threads;
    private int _running;

    /// <param name="workers">Threads that compute hashes; each may hold one hash's memory at a time.</param>
    /// <param name="queueCapacity">Attempts that may wait for a worker; one more is refused.</param>
    public PasswordHashing(int workers, int queueCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCapacity, 1);
        _queue = new BlockingCollection<WorkItem>(new ConcurrentQueue<WorkItem>(), queueCapacity);
        QueueCapacity = queueCapacity;
        ReserveThreadPoolThreads(workers);
        _threads = new Thread[workers];
        for (var i = 0; i < workers; i++)
        {
            // Background: a host that forgets to dispose us must still be able to exit.
            _threads[i] = new Thread(Work) { IsBackground = true, Name = $"restante-hash-{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>About one worker per core: hashing is pure CPU work, more threads would only share the same cores.</summary>
    public static int DefaultWorkers => Environment.ProcessorCount;

    /// <summary>
    /// With bcrypt cost 10 (~70 ms a hash on one core) and two cores, 64 waiting attempts clear in about two seconds, the
    /// failed-login delay: a queued attempt is still answered in about the usual time, anything beyond is a flood.
    /// </summary>
    public const int DefaultQueueCapacity = 64;

    /// <summary>The pool used by an <see cref="Authenticator"/> that was given none (library users, tests).</summary>
    public static PasswordHashing Shared => s_shared.Value;

    public int Workers => _threads.Length;

    public int QueueCapacity { get; }

    /// <summary>Attempts waiting for a worker right now (for metrics).</summary>
    public int QueueDepth => _queue.Count;

    /// <summary>Hashes being computed right now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>
    /// Runs <paramref name="work"/> on a hashing thread. Completes on the thread pool, never on the hashing thread.
    /// </summary>
    /// <exception cref="PasswordHashingBusyException">The queue is full; nothing was run.</exception>
    /// <param name="memoryHard">The work allocates its cost as memory (Argon2id): give it back at once when done.</param>
    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken, bool memoryHard = false)
    {
        ArgumentNullException.ThrowIfNull(work);
        var item = new WorkItem<T>(work, cancellationToken, memoryHard);
        bool added;
        try
        {
            added = _queue.TryAdd(item);
        }
        catch (InvalidOperationException)
        {
            added = false;   // disposed: the server is stopping
        }
        if (!added) throw new PasswordHashingBusyException();
        return item.Task;
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the caller's thread: for a check that costs one fast digest (a "{PLAIN}" compare,
    /// a salted SHA), where handing it to a hashing thread and back would cost more than the check itself (two thread
    /// switches per login). It is refused exactly when <see cref="RunAsync{T}"/> would be, while the queue is full, so
    /// a client cannot tell a cheaply stored account from an unknown name (whose dummy check is a real hash) by which
    /// one is answered "busy" during a flood.
    /// </summary>
    /// <exception cref="PasswordHashingBusyException">The queue is full (or the pool is stopping); nothing was run.</exception>
    public T RunInline<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return RunInline(work, static w => w());
    }

    /// <summary><see cref="RunInline{T}(Func{T})"/> with the work's inputs passed in, so a static lambda allocates nothing per login.</summary>
    /// <exception cref="PasswordHashingBusyException">The queue is full (or the pool is stopping); nothing was run.</exception>
    public T RunInline<TState, T>(TState state, Func<TState, T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (_queue.IsAddingCompleted || _queue.Count >= QueueCapacity) throw new PasswordHashingBusyException();
        return work(state);
    }

    private void Work()
    {
        try
        {
            foreach (var item in _queue.GetConsumingEnumerable())
            {
                Interlocked.Increment(ref _running);
                // The whole process's count: Konscious' Argon2id allocates and fills its memory on pool threads.
                var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
                try
                {
                    item.Run();
                }
                finally
                {
                    Interlocked.Decrement(ref _running);
                }
                if (item.MemoryHard) ReleaseLargeHashMemory(GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore);
            }
        }
        catch (ObjectDisposedException)
        {
            // Disposed while waiting: the thread simply ends.
        }
    }

    // REVIEW: Konscious' Argon2id (the library the ARGON2ID scheme uses) fills its memory in Task.Run segments, so while
    // a worker waits for an Argon2id hash, one thread-pool thread per lane computes it. The worker bound still bounds
    // how many run at once, but those pool threads are taken from the sessions; the pool's minimum is raised by the
    // number of workers so that it starts replacements at once instead of after its slow thread injection (which is
    // what kept greetings waiting). A synchronous Argon2id would make this unnecessary.
    private static readonly Lock s_reserveGate = new();

    private static void ReserveThreadPoolThreads(int workers)
    {
        lock (s_reserveGate)
        {
            ThreadPool.GetMinThreads(out var worker, out var io);
            ThreadPool.SetMinThreads(Math.Max(worker, Environment.ProcessorCount + workers), io);
        }
    }

    // A memory-hard hash (Argon2id: 64 MiB by default) allocates its whole cost as one large object, freed only by a
    // full collection. Left to itself the collector lets several such dead arrays pile up before it runs (measured: a
    // flood of 60 with 2 workers peaked at +394 MiB rather than the 128 MiB the workers hold), so the bound on workers
    // would not bound memory. A full, non-compacting collection right after such a hash returns it at once; it costs a
    // few milliseconds against a hash of hundreds, and only work marked memory-hard can trigger it (the count is the
    // whole process's, so under load a bcrypt hash would otherwise seem to allocate what the sessions did meanwhile).
    private const long LargeHashAllocation = 16L * 1024 * 1024;

    private static void ReleaseLargeHashMemory(long allocated)
    {
        if (allocated >= LargeHashAllocation)
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
    }

    /// <summary>Stops taking work; what is queued still runs, then the threads end.</summary>
    public void Dispose()
    {
        _queue.CompleteAdding();
    }

    private abstract class WorkItem(bool memoryHard)
    {
        public bool MemoryHard { get; } = memoryHard;

        public abstract void Run();
    }

    private sealed class WorkItem<T>(Func<T> work, CancellationToken cancellationToken, bool memoryHard) : WorkItem(memoryHard)
    {
        // RunContinuationsAsynchronously: the session continues on the thread pool, so the hashing thread is free at once.
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Task => _completion.Task;

        public override void Run()
        {
            // A client that went away while queued costs no hash.
            if (cancellationToken.IsCancellationRequested)
            {
                _completion.TrySetCanceled(cancellationToken);
                return;
            }
            try
            {
                _completion.TrySetResult(work());
            }
            catch (Exception ex)
            {
                // Handed to the awaiting session, which logs it as any other failure of the command.
                _completion.TrySetException(ex);
            }
        }
    }
}
