from ddl_cascade.entry import main  # publish's fast path, then the Typer app

if __name__ == "__main__":
    main()
