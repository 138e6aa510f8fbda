//! The `qualys-mock` binary: the command line is the library's ([`qualys_mock::cli::main`]).

/// The server allocates many small strings per record it renders; mimalloc handles that
/// pattern markedly better than the system allocator (see bench/run). The library leaves
/// the allocator to its user.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    qualys_mock::cli::main()
}
