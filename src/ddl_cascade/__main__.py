from ddl_cascade.cli import main

if __name__ == "__main__":
    main()
