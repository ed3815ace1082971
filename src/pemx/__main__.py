from pemx.cli.main import main

main()
