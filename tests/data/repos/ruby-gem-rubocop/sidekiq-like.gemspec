Gem::Specification.new do |gem|
  gem.name = "sidekiq-like"
  gem.version = "0.1.0"
  gem.summary = "A gem shaped fixture"
  gem.authors = ["Example"]
  gem.files = []
end
